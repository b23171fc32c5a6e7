//! Message numbers: short, unique in the region, roughly increasing.
//!
//! A process reserves a block of numbers from the region's counter with one atomic step
//! (`MessageStore::reserve_numbers`, `number_block` at a time) and hands them out from memory,
//! so the counter is written once per block instead of once per message. Numbers a process
//! reserved and never used (it stopped, or its block was not used up) are gaps; so are numbers
//! of submissions that failed in a way that may have written them. A submission refused
//! before anything was written gives its number back to the pool.

use crate::ids::MessageNumber;
use crate::ports::{MessageStore, StoreError};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Mutex;

/// The numbers a process holds: reserved blocks not used up yet, and numbers given back.
#[derive(Debug, Default)]
pub struct NumberPool {
    free: Mutex<VecDeque<Range<u64>>>,
}

impl NumberPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next number of `region` (its code): from the pool, or from a new block reserved in
    /// `store`. Two pools over one store never hand out the same number.
    pub async fn next<S: MessageStore + ?Sized>(&self, store: &S, region: &str) -> Result<MessageNumber, StoreError> {
        loop {
            if let Some(seq) = self.take() {
                return MessageNumber::new(region, seq).ok_or_else(|| {
                    StoreError::backend("message number", "the region code or the sequence is out of range")
                });
            }
            let count = store.number_block().max(1);
            let first = store.reserve_numbers(count).await?;
            self.put(first..first.saturating_add(u64::from(count)));
        }
    }

    /// Returns a number whose submission wrote nothing: the next submission takes it.
    pub fn give_back(&self, number: &MessageNumber) {
        let seq = number.seq();
        self.put(seq..seq.saturating_add(1));
    }

    fn take(&self) -> Option<u64> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let range = free.front_mut()?;
        let seq = range.start;
        range.start += 1;
        if range.is_empty() {
            free.pop_front();
        }
        Some(seq)
    }

    fn put(&self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        // Kept in order, so numbers go out lowest first.
        let at = free.iter().position(|r| r.start > range.start).unwrap_or(free.len());
        free.insert(at, range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_hands_out_its_blocks_lowest_first_and_takes_numbers_back() {
        let pool = NumberPool::new();
        pool.put(101..104);
        pool.put(1..3);
        let taken: Vec<u64> = std::iter::from_fn(|| pool.take()).collect();
        assert_eq!(taken, [1, 2, 101, 102, 103]);
        pool.give_back(&MessageNumber::new("72", 7).unwrap());
        assert_eq!((pool.take(), pool.take()), (Some(7), None));
    }
}
