//! The workloads as the host drives them: which guest export to call, how many actions a run
//! makes, and for the growth patterns one call per step so the host can sample memory size.

use crate::allocators::Role;
use crate::host::Guest;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    RandomActions {
        realloc: bool,
    },
    SmallObjects,
    /// A growth pattern of the guest's `growth_step`, by its number there.
    Growth(Pattern),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Ratchet = 0,
    PageChurn = 1,
    WeeAlloc106 = 2,
    ZeroedBuffers = 3,
}

pub const WORKLOADS: &[Workload] = &[
    Workload::RandomActions { realloc: false },
    Workload::RandomActions { realloc: true },
    Workload::SmallObjects,
    Workload::Growth(Pattern::Ratchet),
    Workload::Growth(Pattern::PageChurn),
    Workload::Growth(Pattern::WeeAlloc106),
    Workload::Growth(Pattern::ZeroedBuffers),
];

/// What one run did.
pub struct Run {
    pub actions: u64,
    /// False if the allocator refused a request the workload needed.
    pub complete: bool,
    /// Requests that got null, random-actions drawing another action after each.
    pub failures: u64,
}

impl Workload {
    /// The short name used on the command line and in file names.
    pub fn key(self) -> &'static str {
        match self {
            Workload::RandomActions { realloc: false } => "random-actions",
            Workload::RandomActions { realloc: true } => "random-actions-realloc",
            Workload::SmallObjects => "small-objects",
            Workload::Growth(Pattern::Ratchet) => "ratchet",
            Workload::Growth(Pattern::PageChurn) => "page-churn",
            Workload::Growth(Pattern::WeeAlloc106) => "wee-alloc-106",
            Workload::Growth(Pattern::ZeroedBuffers) => "zeroed-buffers",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Workload::RandomActions { realloc: false } => "random-actions, alloc+dealloc",
            Workload::RandomActions { realloc: true } => "random-actions, alloc+dealloc+realloc",
            Workload::SmallObjects => "small objects (String/Box 8..256 B in maps)",
            Workload::Growth(Pattern::Ratchet) => "ratchet (talc #51), 64 steps",
            Workload::Growth(Pattern::PageChurn) => "page churn, 65,520 B with one pinned block",
            Workload::Growth(Pattern::WeeAlloc106) => "wee_alloc #106 loop, 85,196 B then 80,000 B",
            Workload::Growth(Pattern::ZeroedBuffers) => "zeroed buffers, 32 × 100,000 B kept",
        }
    }

    pub fn is_growth(self) -> bool {
        matches!(self, Workload::Growth(_))
    }

    /// Growth patterns are measured cold, in one run on a fresh instance; the others get a
    /// warm-up run first and then several timed runs.
    pub fn warms_up(self) -> bool {
        !self.is_growth()
    }

    pub fn runs_on(self, role: Role) -> bool {
        match role {
            Role::Peer | Role::Census | Role::Step(_) => true,
            Role::Floor => matches!(self, Workload::RandomActions { .. }),
            // The export changes no page count, only the cost of each call.
            Role::Export => !self.is_growth(),
            Role::Null | Role::Apart => false,
        }
    }

    /// One run. `after_step` gets the pages grown so far after each step of a growth pattern.
    pub fn run(self, guest: &mut Guest, after_step: &mut dyn FnMut(u64)) -> wasmtime::Result<Run> {
        match self {
            Workload::RandomActions { realloc } => {
                let wanted = guest.call0("random_actions_per_run")?;
                let done = guest.call1("random_actions", u32::from(realloc))?;
                let failures = u64::from(guest.call0("random_actions_failures")?);
                Ok(Run { actions: u64::from(done), complete: done == wanted, failures })
            }
            Workload::SmallObjects => {
                Ok(Run { actions: u64::from(guest.call0("small_objects")?), complete: true, failures: 0 })
            }
            Workload::Growth(pattern) => {
                let steps = guest.call1("growth_steps", pattern as u32)?;
                let mut complete = true;
                for step in 0..steps {
                    complete &= guest.call2("growth_step", pattern as u32, step)? == 1;
                    after_step(guest.pages_grown());
                }
                guest.call_unit("growth_finish")?;
                Ok(Run { actions: u64::from(steps), complete, failures: 0 })
            }
        }
    }
}

pub fn find(key: &str) -> Option<Workload> {
    WORKLOADS.iter().copied().find(|workload| workload.key() == key)
}
