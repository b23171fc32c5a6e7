//! `analytics`: aggregates from counters.
