//! CPU time (`getrusage`) and memory (`/proc/self/status`) of this process (Linux).

/// User and system CPU seconds of the whole process (all threads) so far, from `getrusage`
/// (microsecond resolution; `/proc/self/stat` only has clock ticks of 10 ms).
pub fn cpu_secs() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we own; RUSAGE_SELF is a valid `who`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}

/// CPU time of this process's threads, seconds, from the scheduler's own accounting
/// (`/proc/self/task/*/schedstat`, nanoseconds). getrusage is sampled at the timer tick on
/// this kind of VM (figures move in steps of 4–10 ms), too coarse for one session's 1–2 ms per
/// second; the scheduler's run time is exact. Threads that exited are not counted (the
/// client's threads all live through the measured window). `None` if unavailable.
pub fn sched_cpu_secs() -> Option<f64> {
    let mut total: u64 = 0;
    let mut any = false;
    for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            total += ns;
            any = true;
        }
    }
    any.then_some(total as f64 / 1e9)
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Peak resident set size (VmHWM), KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Current resident set size (VmRSS), KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// glibc's heap figures (`mallinfo2`), KiB: bytes in use, free bytes kept in the arenas, bytes
/// in mmapped blocks. Zero elsewhere.
pub fn malloc_kib() -> (u64, u64, u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and returns a plain struct.
        let m = unsafe { libc::mallinfo2() };
        (
            m.uordblks as u64 / 1024,
            m.fordblks as u64 / 1024,
            m.hblkhd as u64 / 1024,
        )
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        (0, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(super::peak_rss_kib() > 0);
        assert!(super::rss_kib() > 0);
        let (u, s) = super::cpu_secs();
        assert!(super::sched_cpu_secs().is_some_and(|c| c > 0.0));
        assert!(u + s > 0.0, "the loop above took CPU time");
    }
}
