//! Two pieces of work at once. Deleting a veth and deleting nftables
//! rules each wait for RCU grace periods in the kernel; a DEL that runs
//! them side by side waits once instead of twice. The same goes for the
//! iptables and ip6tables tools of one change, and for host-local's work
//! beside the making or deleting of a link (`ipam::acquire_beside`,
//! `ipam::del_beside`).

use crate::error::CniError;

/// Runs `background` on a thread of its own while `foreground` runs here;
/// returns the first error of the two (foreground first).
pub fn both<B, F>(background: B, foreground: F) -> Result<(), CniError>
where
    B: FnOnce() -> Result<(), CniError> + Send,
    F: FnOnce() -> Result<(), CniError>,
{
    let (background, foreground) = join(background, foreground);
    foreground.and(background)
}

/// Runs `background` on a thread of its own while `foreground` runs here,
/// and gives back both outcomes (a panic in the background is an error).
pub fn join<T, B, F, R>(background: B, foreground: F) -> (Result<T, CniError>, R)
where
    T: Send,
    B: FnOnce() -> Result<T, CniError> + Send,
    F: FnOnce() -> R,
{
    std::thread::scope(|scope| {
        let handle = scope.spawn(background);
        let foreground = foreground();
        let background =
            handle.join().unwrap_or_else(|_| Err(CniError::internal("background work panicked")));
        (background, foreground)
    })
}

/// Runs `work` for IPv4 and IPv6 at once (`work(false)`, `work(true)`):
/// each family's iptables tools then run side by side.
pub fn per_family<W>(work: W) -> Result<(), CniError>
where
    W: Fn(bool) -> Result<(), CniError> + Sync,
{
    both(|| work(true), || work(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_run_and_the_foreground_error_wins() {
        let ran = std::sync::atomic::AtomicBool::new(false);
        let out = both(
            || {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Err(CniError::internal("background"))
            },
            || Err(CniError::internal("foreground")),
        );
        assert_eq!(out.unwrap_err().msg, "foreground");
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(both(|| Err(CniError::internal("b")), || Ok(())).unwrap_err().msg, "b");
    }

    #[test]
    fn join_gives_back_both_outcomes_and_a_panic_as_an_error() {
        let (background, foreground) = join(|| Ok(7), || "here");
        assert_eq!((background.ok(), foreground), (Some(7), "here"));
        let (background, foreground): (Result<(), CniError>, u8) = join(|| panic!("boom"), || 1);
        assert_eq!((background.unwrap_err().msg, foreground), ("background work panicked".to_string(), 1));
    }
}
