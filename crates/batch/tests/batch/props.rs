//! Whatever bytes arrive, reading never panics: it loads, rejects or fails cleanly.

use proptest::prelude::*;

use ginkgo_batch::Snapshot;

use crate::{INSTRUMENTS_CSV, temp_dir, write_day};

const HEADER: &str = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n";

fn read_everything(dir: &std::path::Path) {
    if let Ok(snapshot) = Snapshot::open(dir)
        && let Ok((holdings, report)) = snapshot.read_all()
    {
        let h = report.counts_for(ginkgo_domain::snapshot::SnapshotFile::Holdings);
        assert_eq!(h.loaded, holdings.len() as u64);
        assert_eq!(h.loaded + h.rejected, h.read);
    }
    let _ = ginkgo_batch::parse_only(dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_a_csv_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = temp_dir("prop-bytes");
        write_day(&dir, INSTRUMENTS_CSV, "", "계좌번호,투자원금\n");
        std::fs::write(dir.join("account_asset_info_set.csv"), &bytes).expect("write");
        read_everything(&dir);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = temp_dir("prop-rows");
        write_day(&dir, INSTRUMENTS_CSV, "", "계좌번호,투자원금\n");
        let mut content = HEADER.as_bytes().to_vec();
        content.extend_from_slice(&bytes);
        std::fs::write(dir.join("account_asset_info_set.csv"), &content).expect("write");
        read_everything(&dir);
    }

    #[test]
    fn arbitrary_csv_like_rows_never_panic(rows in proptest::collection::vec(
        proptest::collection::vec("[ 0-9A-Za-z가-힣,.\"\\-]{0,16}", 0..9), 0..30)) {
        let dir = temp_dir("prop-fields");
        let mut content = String::from(HEADER);
        for row in rows {
            content.push_str(&row.join(","));
            content.push('\n');
        }
        write_day(&dir, INSTRUMENTS_CSV, &content, "계좌번호,투자원금\n1234567,100\n");
        read_everything(&dir);
    }

    #[test]
    fn arbitrary_bytes_as_a_workbook_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = temp_dir("prop-xlsx");
        write_day(&dir, INSTRUMENTS_CSV, HEADER, "계좌번호,투자원금\n");
        std::fs::remove_file(dir.join("account_asset_info_set.csv")).expect("rm");
        let mut content = b"PK\x03\x04".to_vec();
        content.extend_from_slice(&bytes);
        std::fs::write(dir.join("account_asset_info_set.xlsx"), &content).expect("write");
        read_everything(&dir);
    }
}
