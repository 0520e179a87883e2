//! Writes the seed inputs of the three fuzz targets into `fuzz/corpus/<target>/seed-*`:
//! small generated provider days (every file, format and encoding), real-shaped Open Banking
//! JSON (OPENBANKING.md's examples and the error envelopes), and the values the domain parsers
//! meet. Run from `fuzz/`: `cargo run -p ginkgo-fuzz-seeds`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ginkgo_batch::fuzzing::{Encoding, selector};
use ginkgo_batch::generate::{GenerateOptions, generate};
use ginkgo_batch::{Format, TextEncoding};
use ginkgo_domain::snapshot::SnapshotFile;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

fn with_selector(sel: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![sel];
    out.extend_from_slice(content);
    out
}

fn provider_seeds(out: &Path) {
    let tmp = std::env::temp_dir().join(format!("ginkgo-fuzz-seeds-{}", std::process::id()));
    let variants = [
        ("csv-utf8", Format::Csv, TextEncoding::Utf8, true),
        ("csv-utf8-plain", Format::Csv, TextEncoding::Utf8, false),
        ("csv-cp949", Format::Csv, TextEncoding::Cp949, true),
        ("xlsx", Format::Xlsx, TextEncoding::Utf8, true),
    ];
    for (seed, (name, format, encoding, quote_all)) in variants.into_iter().enumerate() {
        let dir = tmp.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let opts = GenerateOptions {
            accounts: 3,
            date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            error_rate: 0.4,
            format,
            encoding,
            seed: seed as u64 + 7,
            quote_all,
        };
        let manifest = generate(&dir, &opts).expect("generate");
        let files = [
            SnapshotFile::Instruments,
            SnapshotFile::Holdings,
            SnapshotFile::Principals,
        ];
        for (file, path) in files.into_iter().zip(&manifest.files) {
            let bytes = std::fs::read(path).expect("read generated");
            let base = file.as_str();
            match format {
                Format::Xlsx => {
                    write(
                        out,
                        &format!("{base}-xlsx"),
                        &with_selector(selector(file, Encoding::XlsxBytes), &bytes),
                    );
                }
                Format::Csv if encoding == TextEncoding::Cp949 => {
                    // Raw CP949 bytes, sniffed as such.
                    write(
                        out,
                        &format!("{base}-{name}"),
                        &with_selector(selector(file, Encoding::Utf8), &bytes),
                    );
                }
                Format::Csv => {
                    write(
                        out,
                        &format!("{base}-{name}"),
                        &with_selector(selector(file, Encoding::Utf8), &bytes),
                    );
                    if quote_all {
                        write(
                            out,
                            &format!("{base}-bom"),
                            &with_selector(selector(file, Encoding::Utf8Bom), &bytes),
                        );
                        write(
                            out,
                            &format!("{base}-to-cp949"),
                            &with_selector(selector(file, Encoding::Cp949), &bytes),
                        );
                        write(
                            out,
                            &format!("{base}-to-xlsx"),
                            &with_selector(selector(file, Encoding::XlsxCells), &bytes),
                        );
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn domain_seeds(out: &Path) {
    let values = [
        (
            "amounts",
            "8585\n8585.0\n 1,234,567 \n-42\n+42\n10.5\n12,34\n1e3\n-0\n9223372036854775807\n",
        ),
        (
            "accounts",
            "5736692368320\n0012345678\n123456\n57366-9236\n12345\n00000000000000000000\n",
        ),
        (
            "isins",
            "KR7360750004\nUS0378331005\nKR7195980002\ncash\nCASH\nkr7360750004\nKR736075000X\n",
        ),
        ("names", "류영길\n 김하늘 \n미래에셋증권\nISA 계좌\n"),
        ("dates", "2026-11-20\n20261120\n2024-02-29\n20230229\n"),
        (
            "signature",
            "7e2ab3b8f8a84c6af56b964bf1c8b715ae0edbffa09b2817f39ca5a9a5b0634733181131a89e5c4f1d29b374827a3a236fc454b8ddeb87f73516026d312e833f",
        ),
        ("amount", "1,000"),
        ("account", "5736692368320"),
        ("isin", "KR7360750004"),
        ("date", "2026-11-20"),
        ("name", "아이작"),
    ];
    for (name, text) in values {
        write(out, name, text.as_bytes());
    }
}

fn openbanking_seeds(out: &Path) {
    // The selector byte: kind (0 token, 1 user/me, 2 account list, 3 balance, 4 transaction
    // list, 5 gateway error) and, in the top three bits, the HTTP status (0 → 200, 3 → 400,
    // 7 → 503).
    let bodies: [(&str, u8, &str); 14] = [
        (
            "token",
            0,
            r#"{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIxMTAxMDQzMzQyIn0.c2ln","token_type":"Bearer","expires_in":7775999,"refresh_token":"eyJhbGciOiJIUzI1NiJ9.cmVmcmVzaA.c2ln","scope":"inquiry login transfer","user_seq_no":"1101043342"}"#,
        ),
        (
            "token-oob",
            0,
            r#"{"access_token":"eyJhbGciOiJIUzI1NiJ9.b29i.c2ln","token_type":"Bearer","expires_in":"7775999","scope":"oob","client_use_code":"M202113854"}"#,
        ),
        (
            "token-error",
            0 | (3 << 5),
            r#"{"rsp_code":"O0001","rsp_message":"인증 파라미터 오류([3000201])"}"#,
        ),
        (
            "token-used-code",
            0,
            r#"{"rsp_code":"O0001","rsp_message":"인증 파라미터 오류([3002110])"}"#,
        ),
        (
            "user-me",
            1,
            r#"{"api_tran_id":"527c3675-a0bf-4ba4-a752-fd9cba8f5deb","api_tran_dtm":"20240122152855178","rsp_code":"A0000","rsp_message":"","user_seq_no":"1101043342","user_ci":"<88-char base64>","user_name":"홍길동","user_info":null,"user_gender":null,"user_cell_no":null,"user_email":null,"res_cnt":"1","res_list":[{"fintech_use_num":"120211385488932395653894","account_alias":"테스트계좌","bank_code_std":"002","bank_code_sub":"0000000","bank_name":"KDB산업은행","savings_bank_name":"","account_num":null,"account_num_masked":"20230821***","account_seq":"","account_holder_name":"홍길동","account_holder_type":"P","inquiry_agree_yn":"Y","inquiry_agree_dtime":"20240122123648","transfer_agree_yn":"Y","transfer_agree_dtime":"20240122123648"}]}"#,
        ),
        (
            "account-list",
            2,
            r#"{"api_tran_id":"8d6c1f3e-1b2a-4c3d-9e8f-0a1b2c3d4e5f","api_tran_dtm":"20240122152901001","rsp_code":"A0000","rsp_message":"","user_name":"홍길동","res_cnt":1,"res_list":[{"fintech_use_num":"120211385488932395653894","account_alias":"테스트계좌","bank_code_std":"002","bank_code_sub":"0000000","bank_name":"KDB산업은행","savings_bank_name":"","account_num_masked":"20230821***","account_seq":"","account_holder_name":"홍길동","account_holder_type":"P","account_type":"1","inquiry_agree_yn":"Y","inquiry_agree_dtime":"20240122123648","transfer_agree_yn":"Y","transfer_agree_dtime":"20240122123648","account_state":"01"}]}"#,
        ),
        (
            "balance",
            3,
            r#"{"api_tran_id":"2ffd133a-d17a-431d-a6a5-9a1b2c3d4e5f","api_tran_dtm":"20240124121711919","rsp_code":"A0000","rsp_message":"","bank_tran_id":"M202113854U143901585","bank_tran_date":"20240124","bank_code_tran":"097","bank_rsp_code":"000","bank_rsp_message":"","bank_name":"오픈은행","savings_bank_name":"","fintech_use_num":"120211385488932395653894","balance_amt":"1000000","available_amt":"1000000","account_type":"1","product_name":"자유입출금통장","account_issue_date":"20200102","maturity_date":"","last_tran_date":"20240120"}"#,
        ),
        (
            "balance-bank-error",
            3,
            r#"{"api_tran_id":"2ffd133a","api_tran_dtm":"20240124121711919","rsp_code":"A0002","rsp_message":"참가기관 에러","bank_tran_id":"M202113854U143901586","bank_tran_date":"20240124","bank_code_tran":"097","bank_rsp_code":"468","bank_rsp_message":"거래제한계좌"}"#,
        ),
        (
            "transactions",
            4,
            r#"{"api_tran_id":"01707e85-470d-4bbf-87c9-6c7b26b8dc30","api_tran_dtm":"20240125093012345","rsp_code":"A0000","rsp_message":"","bank_tran_id":"M202113854U093012345","bank_tran_date":"20240125","bank_code_tran":"097","bank_rsp_code":"000","bank_rsp_message":"","bank_name":"오픈은행","savings_bank_name":"","fintech_use_num":"120211385488932395653894","balance_amt":"985000","page_record_cnt":"2","next_page_yn":"N","befor_inquiry_trace_info":"","res_list":[{"tran_date":"20240124","tran_time":"123015","inout_type":"출금","tran_type":"체크카드","print_content":"편의점","tran_amt":"15000","after_balance_amt":"985000","branch_name":""},{"tran_date":"20240123","tran_time":"090000","inout_type":"입금","tran_type":"대체","print_content":"급여","tran_amt":"1000000","after_balance_amt":"1000000","branch_name":"본점"}]}"#,
        ),
        (
            "transactions-next",
            4,
            r#"{"rsp_code":"A0000","rsp_message":"","bank_rsp_code":"000","balance_amt":"","page_record_cnt":2,"next_page_yn":"Y","befor_inquiry_trace_info":"20240123090000|2","res_list":[{"tran_date":20240124,"tran_time":"123015","inout_type":"지급","tran_type":null,"printed_content":"GS25","tran_amt":4500,"after_balance_amt":"-985000"},{"tran_date":"20240124","tran_time":"123015","inout_type":"지급","tran_type":null,"printed_content":"GS25","tran_amt":4500,"after_balance_amt":"-985000"}]}"#,
        ),
        (
            "gateway-token-refused",
            1 | (4 << 5),
            r#"{"rsp_code":"O0002","rsp_message":"Access Token 거부"}"#,
        ),
        (
            "duplicate-tran-id",
            4,
            r#"{"api_tran_id":"x","api_tran_dtm":"20240124121711919","rsp_code":"A0326","rsp_message":"이용기관 거래고유번호 중복"}"#,
        ),
        (
            "gateway-error",
            5,
            r#"{"rsp_code":"O0010","rsp_message":"요청 방식 오류 [GET]"}"#,
        ),
        (
            "server-error",
            5 | (7 << 5),
            r#"<html><body>503 Service Unavailable</body></html>"#,
        ),
    ];
    for (name, sel, body) in bodies {
        write(out, name, &with_selector(sel, body.as_bytes()));
    }
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    provider_seeds(&root.join("provider_files"));
    domain_seeds(&root.join("domain_parsers"));
    openbanking_seeds(&root.join("openbanking_json"));
    println!("seeds written under {}", root.display());
}
