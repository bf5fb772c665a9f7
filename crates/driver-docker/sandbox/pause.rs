//! The sandbox program: the first process of an instance's sandbox container, which holds the network
//! namespace the instance's containers share (the role of Kubernetes' pause container). It sleeps until
//! a signal ends it; as PID 1 it must handle SIGTERM itself, or the kernel would ignore it.
//!
//! Built by `build.rs` as a static executable (glibc with crt-static), so the sandbox image holds this
//! one file and nothing else.

unsafe extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn pause() -> i32;
    fn _exit(status: i32) -> !;
}

extern "C" fn stop(_: i32) {
    // Only async-signal-safe calls in a handler.
    unsafe { _exit(0) }
}

fn main() {
    // SIGINT, SIGTERM.
    for signum in [2, 15] {
        unsafe { signal(signum, stop) };
    }
    loop {
        unsafe { pause() };
    }
}
