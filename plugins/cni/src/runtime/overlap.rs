//! Two pieces of kernel work at once. Deleting a veth and deleting
//! nftables rules each wait for RCU grace periods in the kernel; a DEL that
//! runs them side by side waits once instead of twice. The same goes for
//! the iptables and ip6tables tools of one change.

use crate::error::CniError;

/// Runs `background` on a thread of its own while `foreground` runs here;
/// returns the first error of the two (foreground first).
pub fn both<B, F>(background: B, foreground: F) -> Result<(), CniError>
where
    B: FnOnce() -> Result<(), CniError> + Send,
    F: FnOnce() -> Result<(), CniError>,
{
    std::thread::scope(|scope| {
        let handle = scope.spawn(background);
        let outcome = foreground();
        let background =
            handle.join().unwrap_or_else(|_| Err(CniError::internal("background work panicked")));
        outcome.and(background)
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
}
