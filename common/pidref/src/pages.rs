//! Memory of the processes that stay beside each running container.
//!
//! A supervisor and an ns-exec stay for as long as their container runs,
//! so what they keep resident is paid once per container (measured: ns-exec
//! kept 2.9 MiB Rss, 1.1 MiB of it its own binary, before it did this).

/// Lets the kernel take back the pages start-up used.
///
/// For a process that from here on only waits for as long as its container
/// lives (the supervisor's loop of poll, read, write; ns-exec as the
/// init's parent, in sigtimedwait): the code and constants that parsed
/// arguments and JSON and set the container up are not used again, yet their pages, and the
/// neighbours the kernel's fault-around mapped with them, stay counted in
/// our RSS. For each file mapping (our binary, libc, the loader) that holds
/// no private copy of a page (smaps' `Anonymous: 0 kB`: never written, so
/// not the relocated data), madvise(2) MADV_DONTNEED drops our page-table
/// entries: nothing is lost, and a page needed again is mapped again from
/// the page cache on its next use. MADV_RANDOM first, so that such a fault
/// maps that page alone rather than the 64 KiB around it.
///
/// Only where /proc is the host's: the ranges come from /proc/self/smaps,
/// and a container that could mount over its /proc could name ranges that
/// are not file mappings at all.
pub fn drop_startup_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut mapping: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        // A mapping's header: START-END PERMS OFFSET DEV INODE PATH (proc(5)),
        // then `Key: value` lines.
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let Some((start, end)) = fields.first().and_then(|f| f.split_once('-')) {
            let file_backed = fields.get(5).is_some_and(|p| p.starts_with('/'));
            let read_only = fields.get(1).is_some_and(|p| !p.contains('w'));
            mapping = match (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) {
                (Ok(start), Ok(end)) if file_backed && read_only => Some((start, end)),
                _ => None,
            };
        } else if let (Some((start, end)), ["Anonymous:", "0", "kB"]) = (mapping, &fields[..]) {
            // SAFETY: a read-only file mapping of ours without private
            // pages: dropping its pages loses no data.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}
