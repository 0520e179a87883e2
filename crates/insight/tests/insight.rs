//! Integration tests for ginkgo-insight (one test binary; modules under `tests/insight/`).

mod insight {
    pub mod charts;
    pub mod dictionary;
    pub mod matching;
    pub mod recurring;
    pub mod rules;
    pub mod support;
}
