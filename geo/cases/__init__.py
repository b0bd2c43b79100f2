"""The case cycle: steps as data (steps), units and who may act (units), the clock on the official calendar
(clock), writing steps (store), reading queues and timelines (queries), the overdue sweep (sweep), measures."""
