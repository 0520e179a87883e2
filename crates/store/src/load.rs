//! What both backends decide the same way while loading a day: what the day's rejects mean for
//! the accounts they name (last known good), and whether a delivery is plausible.

use std::collections::{HashMap, HashSet};

use ginkgo_domain::AccountNumber;
use ginkgo_domain::snapshot::{RejectRecord, SnapshotFile};

/// What the day's rejected rows mean for the accounts they name.
#[derive(Debug, Default)]
pub struct RejectEffects {
    /// (account number, ISIN) of each rejected holding row that names both, without repeats:
    /// the account keeps its earlier line for that instrument, if it has one.
    pub carry: Vec<(String, String)>,
    /// Rejected rows (holdings and principals) per account, keyed by the packed number.
    pub per_account: HashMap<[u64; 2], (String, u32)>,
    /// Accounts whose principal row was rejected.
    pub principal_rejected: HashSet<[u64; 2]>,
    /// A principal row was rejected without a readable account number: every account without
    /// a principal row today may be the one, so none of them counts as 0.
    pub principal_unattributed: bool,
}

impl RejectEffects {
    pub fn of(rejects: &[RejectRecord]) -> RejectEffects {
        let mut out = RejectEffects::default();
        let mut carry: HashSet<(String, String)> = HashSet::new();
        for r in rejects {
            if r.file == SnapshotFile::Instruments {
                continue;
            }
            let Some(number) = r
                .account_number
                .as_deref()
                .and_then(|n| AccountNumber::parse(n).ok())
            else {
                if r.file == SnapshotFile::Principals {
                    out.principal_unattributed = true;
                }
                continue;
            };
            let key = number.packed();
            out.per_account
                .entry(key)
                .or_insert_with(|| (number.as_str().to_string(), 0))
                .1 += 1;
            match r.file {
                SnapshotFile::Principals => {
                    out.principal_rejected.insert(key);
                }
                _ => {
                    if let Some(isin) = &r.isin
                        && carry.insert((number.as_str().to_string(), isin.to_string()))
                    {
                        out.carry
                            .push((number.as_str().to_string(), isin.to_string()));
                    }
                }
            }
        }
        out
    }

    /// The principal to store for an account of the day: today's row, or `None` (keep the
    /// last known good, or unknown) when its row was rejected, or 0 when the provider sent no
    /// row and rejected none that could be this account's. Also answers whether the account
    /// counts one more rejected row (an unattributed principal reject).
    pub fn principal(&self, key: &[u64; 2], today: Option<i64>) -> (Option<i64>, u32) {
        match today {
            Some(p) => (Some(p), 0),
            None if self.principal_rejected.contains(key) => (None, 0),
            None if self.principal_unattributed => (None, 1),
            None => (Some(0), 0),
        }
    }
}

/// Why a held run may not be released: it is not held (`status`), it was released already, or
/// a delivery for its date committed after it (`newer`), which the release would replace.
pub fn release_refusal(
    status: &str,
    released_by: Option<i64>,
    newer: bool,
) -> crate::StoreResult<()> {
    use crate::StoreError;
    if status != "held" {
        return Err(StoreError::Conflict(
            "only a held run can be released".into(),
        ));
    }
    if let Some(by) = released_by {
        return Err(StoreError::Conflict(format!(
            "this run was already released (run {by})"
        )));
    }
    if newer {
        return Err(StoreError::Conflict(
            "a later delivery for this date was loaded; releasing this one would replace it".into(),
        ));
    }
    Ok(())
}
