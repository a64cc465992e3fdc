//! Core dumps off for the whole process, before anything secret is read: a core file holds
//! every live token, key, code and PKCE verifier, and lands where other tools can collect it.

/// Sets `RLIMIT_CORE` to 0 (soft and hard, so a child cannot raise it again) and, on Linux,
/// marks the process not dumpable (no core, no `ptrace` attach by the same user, `/proc/PID`
/// files owned by root). Failures are ignored: they leave the platform's default in place.
/// On Windows nothing is done: there are no core files, and what Windows Error Reporting keeps
/// of a crash is the machine's policy (full dumps only where LocalDumps is configured).
pub fn disable() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and touches no Rust-managed memory.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &none);
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: PR_SET_DUMPABLE takes plain integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
