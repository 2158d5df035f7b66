//! Refused growth, by the heap's own cap and by the host's: the guest sees null, `failed_grows`
//! rises, nothing traps, and the guest works again once it frees memory.

mod common;

use common::{GuestKind, in_each_profile, session, session_with};
use growheap_harness::{GuestOptions, Session};

/// Fill until refused, check the refusal, release, allocate again; every call's checks pass.
/// Returns the report of the filling call.
fn refuse_then_recover(session: &mut Session, profile: &str) -> growheap_harness::CallReport {
    let filled = session.call("hold_until_refused").unwrap();
    filled.assert_passed();
    assert!(filled.result_i32().unwrap() > 0, "({profile}) nothing was allocated before the refusal");
    assert!(
        filled.stats.failed_grows > filled.stats_before.failed_grows,
        "({profile}) failed_grows did not rise"
    );

    let reserve = session.call("try_reserve_refused").unwrap();
    reserve.assert_passed();
    assert_eq!(reserve.result_i32(), Some(1), "({profile}) try_reserve beyond the cap succeeded");

    let released = session.call("release_held").unwrap();
    released.assert_passed();
    assert_eq!(released.result_i32(), filled.result_i32(), "({profile}) not every held block was freed");

    let recovered = session.call("allocate_after_release").unwrap();
    recovered.assert_passed();
    assert_eq!(recovered.result_i32(), released.result_i32(), "({profile}) freed memory was not reusable");
    filled
}

/// The refusal guest on wasm32 and on memory64.
const GUESTS: [GuestKind; 2] = [GuestKind::Refusal, GuestKind::Refusal64];

/// The refusal guest's `max_pages`.
const HEAP_CAP: u64 = 16;

#[test]
fn heap_cap_refuses_without_asking_the_host() {
    for (kind, profile) in in_each_profile(GUESTS) {
        let mut session = session(kind, profile);
        let filled = refuse_then_recover(&mut session, profile);
        assert_eq!(
            filled.host.guest_refused, 0,
            "({kind:?}, {profile}) the heap's own cap reached memory.grow"
        );
        // Counted by the host: the heap grew up to its cap, and not a page past it.
        assert_eq!(
            filled.host.guest_pages_grown, HEAP_CAP,
            "({kind:?}, {profile}) the heap stopped short of its cap or went past it"
        );
        assert_eq!(session.guest.pages(), session.guest.initial_pages + HEAP_CAP);
    }
}

#[test]
fn host_cap_makes_memory_grow_return_minus_one() {
    let options = GuestOptions { grow_limit: Some(4), ..GuestOptions::default() };
    for (kind, profile) in in_each_profile(GUESTS) {
        let mut session = session_with(kind, profile, &options);
        let filled = refuse_then_recover(&mut session, profile);
        // The heap's own cap (16 pages) is out of reach: every refusal it counted in this call
        // is one the host made.
        filled.assert_refused_by_host();
        let limit = session.guest.initial_pages + 4;
        assert!(session.guest.pages() <= limit, "({kind:?}, {profile}) memory passed the host's cap");
    }
}
