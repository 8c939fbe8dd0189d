//! Recycled session buffers, per thread.
//!
//! An idle session gives its receive and output buffers back (the C10K memory rule), and
//! on a keep-alive connection the next request takes them again a moment later. Going
//! through the allocator for that costs a 4 KiB `malloc` and `free` twice per request
//! (glibc serves only small sizes from its per-thread cache); a short per-thread stack of
//! emptied buffers costs a push and a pop. Sessions stay on the thread that drives them,
//! so the stack needs no lock; it is bounded, so what it holds is at most
//! `KEPT * KEPT_CAPACITY` bytes a thread, whatever the number of sessions.

use bytes::BytesMut;
use std::cell::RefCell;

/// The capacity new buffers get, and the least a kept one has.
pub(crate) const KEPT_CAPACITY: usize = 4096;
/// Buffers larger than this (grown for a long head or a large write) go back to the
/// allocator rather than sit in the stack.
const KEPT_MAX_CAPACITY: usize = 4 * KEPT_CAPACITY;
/// Buffers kept per thread.
const KEPT: usize = 32;

thread_local! {
    static KEPT_BUFFERS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes: a kept one if it has room,
/// else a new one of at least [`KEPT_CAPACITY`].
pub(crate) fn take(capacity: usize) -> BytesMut {
    let kept = KEPT_BUFFERS.with(|kept| kept.borrow_mut().pop());
    match kept {
        Some(buf) if buf.capacity() >= capacity => buf,
        _ => BytesMut::with_capacity(capacity.max(KEPT_CAPACITY)),
    }
}

/// Gives `buf` back for [`take`]: kept when it is empty, its memory is its own alone
/// (no `Bytes` split from it is alive) and its size is ordinary; dropped otherwise.
pub(crate) fn give(mut buf: BytesMut) {
    if !buf.is_empty() || buf.capacity() > KEPT_MAX_CAPACITY {
        return;
    }
    // Reclaims the room before the start that reads and writes advanced past; false
    // when a split-off `Bytes` still shares the memory.
    if !buf.try_reclaim(KEPT_CAPACITY) {
        return;
    }
    KEPT_BUFFERS.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < KEPT {
            kept.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    fn kept_count() -> usize {
        KEPT_BUFFERS.with(|kept| kept.borrow().len())
    }

    #[test]
    fn an_emptied_buffer_comes_back_with_its_room() {
        let mut buf = take(100);
        assert!(buf.capacity() >= KEPT_CAPACITY);
        buf.put_slice(&[7; 3000]);
        let _ = buf.split_to(3000);
        let before = kept_count();
        give(buf);
        assert_eq!(kept_count(), before + 1);
        let again = take(KEPT_CAPACITY);
        assert!(again.is_empty());
        assert!(again.capacity() >= KEPT_CAPACITY);
        assert_eq!(kept_count(), before);
    }

    #[test]
    fn shared_full_or_oversized_buffers_are_not_kept() {
        let before = kept_count();
        let mut shared = take(KEPT_CAPACITY);
        shared.put_slice(b"head");
        let head = shared.split_to(4).freeze();
        give(shared);
        assert_eq!(kept_count(), before, "a live split shares the memory");
        drop(head);

        let mut full = take(KEPT_CAPACITY);
        full.put_slice(b"x");
        give(full);
        assert_eq!(kept_count(), before, "bytes in it are someone's");

        give(BytesMut::with_capacity(KEPT_MAX_CAPACITY + 1));
        assert_eq!(kept_count(), before);
        give(BytesMut::new());
        assert_eq!(kept_count(), before, "no room, nothing to keep");
    }

    #[test]
    fn the_stack_is_bounded() {
        for _ in 0..KEPT + 10 {
            give(BytesMut::with_capacity(KEPT_CAPACITY));
        }
        assert_eq!(kept_count(), KEPT);
        let big = take(KEPT_MAX_CAPACITY * 2);
        assert!(big.capacity() >= KEPT_MAX_CAPACITY * 2);
    }
}
