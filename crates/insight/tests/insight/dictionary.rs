use ginkgo_insight::{Categorizer, Category, Direction, Source};

fn categorizer() -> Categorizer {
    Categorizer::builtin().expect("builtin dictionary builds")
}

fn cat(c: &Categorizer, memo: &str, direction: Direction) -> Category {
    c.categorize_memo(memo, direction).category
}

#[test]
fn every_memo_of_the_shared_vocabulary_is_filed_under_its_category() {
    use Category::*;
    use Direction::{In, Out};
    let table: &[(&str, Direction, Category)] = &[
        ("(주)한빛소프트 급여", In, Salary),
        ("급여", In, Salary),
        ("월세 김영숙", Out, Housing),
        ("아파트관리비", Out, Housing),
        ("한국전력공사", Out, Utilities),
        ("서울도시가스", Out, Utilities),
        ("수도요금", Out, Utilities),
        ("SKT 통신요금", Out, Telecom),
        ("KT 휴대폰요금", Out, Telecom),
        ("LGU+ 인터넷", Out, Telecom),
        ("NETFLIX.COM", Out, Subscription),
        ("유튜브프리미엄", Out, Subscription),
        ("쿠팡와우", Out, Subscription),
        ("멜론", Out, Subscription),
        ("SPOTIFY", Out, Subscription),
        ("GS25 역삼점", Out, Convenience),
        ("CU 강남역점", Out, Convenience),
        ("세븐일레븐", Out, Convenience),
        ("이마트24", Out, Convenience),
        ("스타벅스 강남R점", Out, Cafe),
        ("투썸플레이스", Out, Cafe),
        ("이디야커피", Out, Cafe),
        ("메가MGC커피", Out, Cafe),
        ("빽다방", Out, Cafe),
        ("배달의민족", Out, Delivery),
        ("쿠팡이츠", Out, Delivery),
        ("요기요", Out, Delivery),
        ("카카오T택시", Out, Transport),
        ("티머니 교통", Out, Transport),
        ("코레일", Out, Transport),
        ("SRT", Out, Transport),
        ("이마트 성수점", Out, Food),
        ("홈플러스", Out, Food),
        ("롯데마트", Out, Food),
        ("마켓컬리", Out, Food),
        ("김밥천국", Out, Food),
        ("맥도날드", Out, Food),
        ("버거킹", Out, Food),
        ("본죽", Out, Food),
        ("쿠팡", Out, Shopping),
        ("무신사", Out, Shopping),
        ("올리브영", Out, Shopping),
        ("다이소", Out, Shopping),
        ("하이마트", Out, Shopping),
        ("삼성전자 디지털프라자", Out, Shopping),
        ("서울내과의원", Out, Medical),
        ("온누리약국", Out, Medical),
        ("연세치과", Out, Medical),
        ("인프런", Out, Education),
        ("교보문고", Out, Education),
        ("영어학원", Out, Education),
        ("CGV 용산", Out, Leisure),
        ("롯데시네마", Out, Leisure),
        ("인터파크티켓", Out, Leisure),
        ("카카오페이 송금", Out, Transfer),
        ("토스 이체", Out, Transfer),
        ("이체 홍길동", Out, Transfer),
        ("ATM 출금", Out, Cash),
        ("현금입금", In, Cash),
        ("알수없는가맹점", Out, Other),
    ];
    let c = categorizer();
    let mut wrong = Vec::new();
    for (memo, direction, expected) in table {
        let got = cat(&c, memo, *direction);
        if got != *expected {
            wrong.push(format!(
                "{memo} ({direction:?}): got {got:?}, want {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "misfiled:\n{}", wrong.join("\n"));
}

#[test]
fn branch_suffixes_do_not_change_the_category() {
    let c = categorizer();
    for branch in ["강남점", "역삼점", "판교 2호점", "ＳＥＯＵＬ"] {
        assert_eq!(
            cat(&c, &format!("GS25 {branch}"), Direction::Out),
            Category::Convenience
        );
        assert_eq!(
            cat(&c, &format!("스타벅스 {branch}"), Direction::Out),
            Category::Cafe
        );
        assert_eq!(
            cat(&c, &format!("이마트 {branch}"), Direction::Out),
            Category::Food
        );
    }
}

#[test]
fn the_longest_keyword_wins_the_traps() {
    let c = categorizer();
    assert_eq!(
        cat(&c, "이마트24 역삼점", Direction::Out),
        Category::Convenience
    );
    assert_eq!(cat(&c, "이마트 역삼점", Direction::Out), Category::Food);
    assert_eq!(cat(&c, "쿠팡이츠", Direction::Out), Category::Delivery);
    assert_eq!(cat(&c, "쿠팡와우", Direction::Out), Category::Subscription);
    assert_eq!(cat(&c, "쿠팡", Direction::Out), Category::Shopping);
    assert_eq!(cat(&c, "쿠팡 환불", Direction::In), Category::Refund);
    assert_eq!(
        cat(&c, "스타벅스 결제취소", Direction::In),
        Category::Refund
    );
    let r = c.categorize_memo("이마트24", Direction::Out);
    assert_eq!(
        r.source,
        Source::Dictionary {
            keyword: "이마트24".into()
        }
    );
}

#[test]
fn direction_decides_salary_refunds_and_unknown_income() {
    let c = categorizer();
    // Incoming money with an unknown memo is not "other spending".
    assert_eq!(cat(&c, "홍길동", Direction::In), Category::OtherIncome);
    assert_eq!(cat(&c, "홍길동", Direction::Out), Category::Other);
    // 급여 only for incoming money.
    assert_eq!(cat(&c, "급여", Direction::Out), Category::Other);
    // An incoming memo naming a merchant without a refund word is other income, not shopping.
    assert_eq!(cat(&c, "쿠팡", Direction::In), Category::OtherIncome);
    // Transfers and cash apply both ways.
    assert_eq!(cat(&c, "토스 이체", Direction::In), Category::Transfer);
    assert_eq!(cat(&c, "ATM 입금", Direction::In), Category::Cash);
    let d = c.categorize_memo("홍길동", Direction::In);
    assert_eq!(d.source, Source::Default);
}

#[test]
fn normalisation_makes_full_width_and_case_irrelevant() {
    let c = categorizer();
    assert_eq!(
        cat(&c, "ＮＥＴＦＬＩＸ．ＣＯＭ", Direction::Out),
        Category::Subscription
    );
    assert_eq!(
        cat(&c, "netflix.com", Direction::Out),
        Category::Subscription
    );
    assert_eq!(
        cat(&c, "Ｇ Ｓ ２ ５", Direction::Out),
        Category::Convenience
    );
    assert_eq!(cat(&c, "", Direction::Out), Category::Other);
}
