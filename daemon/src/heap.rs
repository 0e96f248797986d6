//! Giving freed memory back to the system.
//!
//! glibc's allocator keeps freed memory in its arenas (one per thread that allocated), so after
//! thousands of idle threads are unloaded the daemon's resident size would stay where its peak
//! was. After a sweep frees a batch, `malloc_trim` returns the free pages at the top of each
//! arena and `madvise`s the rest away. Other allocators return memory on their own.

/// Returns free heap pages to the system (glibc only; a no-op elsewhere).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers of
    // ours and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
