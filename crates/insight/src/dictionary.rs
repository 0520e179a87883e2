//! The keyword dictionary: normalised keyword → category, with the direction it applies to.
//!
//! Matching is by substring over the normalised memo (see [`crate::Categorizer`]). The built-in
//! dictionary covers the merchants, utilities, telcos, subscriptions and bank words Korean
//! passbooks show; a [`Dictionary`] can also be built from any list (tests, benchmarks, a
//! company-specific list).

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::normalize::normalize;
use crate::txn::Direction;

/// Which transactions a keyword applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordDirection {
    /// Money going out only (merchants, bills).
    Out,
    /// Money coming in only (salary, refunds, interest).
    In,
    /// Either (transfers, cash).
    Both,
}

impl KeywordDirection {
    pub fn applies_to(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (KeywordDirection::Both, _)
                | (KeywordDirection::Out, Direction::Out)
                | (KeywordDirection::In, Direction::In)
        )
    }
}

/// One dictionary entry. `text` is normalised when the dictionary is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyword {
    pub text: String,
    pub category: Category,
    pub direction: KeywordDirection,
}

/// A list of keywords; build a [`crate::Categorizer`] from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    keywords: Vec<Keyword>,
}

impl Dictionary {
    /// A dictionary from entries; texts are normalised, entries whose text normalises to
    /// nothing are dropped, and exact duplicates (text, category, direction) are removed.
    pub fn new(entries: impl IntoIterator<Item = Keyword>) -> Dictionary {
        let mut keywords: Vec<Keyword> = entries
            .into_iter()
            .map(|k| Keyword {
                text: normalize(&k.text),
                ..k
            })
            .filter(|k| !k.text.is_empty())
            .collect();
        keywords.sort_by(|a, b| {
            (&a.text, a.category.priority(), a.direction as u8).cmp(&(
                &b.text,
                b.category.priority(),
                b.direction as u8,
            ))
        });
        keywords.dedup();
        Dictionary { keywords }
    }

    /// The built-in Korean dictionary.
    pub fn builtin() -> Dictionary {
        Dictionary::new(BUILTIN.iter().flat_map(|(category, direction, words)| {
            words.iter().map(move |w| Keyword {
                text: (*w).to_string(),
                category: *category,
                direction: *direction,
            })
        }))
    }

    pub fn keywords(&self) -> &[Keyword] {
        &self.keywords
    }

    pub fn len(&self) -> usize {
        self.keywords.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty()
    }
}

use Category as C;
use KeywordDirection::{Both, In, Out};

/// The built-in keywords, grouped by category. Written as people see them; normalised at build.
const BUILTIN: &[(Category, KeywordDirection, &[&str])] = &[
    (
        C::Salary,
        In,
        &[
            "급여",
            "월급",
            "상여",
            "상여금",
            "성과급",
            "보너스",
            "급료",
            "임금",
            "salary",
            "payroll",
            "인센티브",
            "연말정산환급",
        ],
    ),
    (
        C::Refund,
        In,
        &[
            "환불",
            "취소",
            "반품",
            "결제취소",
            "승인취소",
            "환급",
            "refund",
            "부분취소",
        ],
    ),
    (
        C::OtherIncome,
        In,
        &[
            "이자",
            "예금이자",
            "결산이자",
            "배당",
            "배당금",
            "캐시백",
            "포인트전환",
            "지원금",
            "장려금",
            "보험금",
            "국민연금",
            "연금",
            "아동수당",
            "부모급여",
            "근로장려금",
        ],
    ),
    (
        C::Housing,
        Out,
        &[
            "월세",
            "관리비",
            "아파트관리비",
            "임대료",
            "전세이자",
            "주택담보",
            "주담대",
            "오피스텔관리비",
            "부동산",
            "집주인",
            "보증금",
            "주택청약",
            "하우징",
            "관리사무소",
        ],
    ),
    (
        C::Utilities,
        Out,
        &[
            "한국전력",
            "한국전력공사",
            "전기요금",
            "한전",
            "도시가스",
            "서울도시가스",
            "가스요금",
            "삼천리",
            "예스코",
            "코원에너지",
            "귀뚜라미에너지",
            "수도요금",
            "상수도",
            "수도사업소",
            "지역난방",
            "난방공사",
            "건강보험",
            "국민건강보험",
            "국민연금공단",
            "재산세",
            "자동차세",
            "지방세",
            "국세",
            "위택스",
            "홈택스",
            "과태료",
            "tv수신료",
            "공과금",
        ],
    ),
    (
        C::Telecom,
        Out,
        &[
            "skt",
            "sk텔레콤",
            "kt",
            "케이티",
            "lgu+",
            "lg유플러스",
            "유플러스",
            "통신요금",
            "휴대폰요금",
            "핸드폰요금",
            "인터넷요금",
            "skbroadband",
            "sk브로드밴드",
            "헬로모바일",
            "알뜰폰",
            "kt엠모바일",
            "u+알뜰모바일",
            "세븐모바일",
            "통신비",
            "skb",
        ],
    ),
    (
        C::Subscription,
        Out,
        &[
            "netflix",
            "넷플릭스",
            "유튜브프리미엄",
            "youtube",
            "youtubepremium",
            "쿠팡와우",
            "와우멤버십",
            "멜론",
            "melon",
            "spotify",
            "스포티파이",
            "지니뮤직",
            "벅스",
            "플로",
            "티빙",
            "tving",
            "웨이브",
            "wavve",
            "왓챠",
            "watcha",
            "디즈니플러스",
            "disney+",
            "애플뮤직",
            "applemusic",
            "icloud",
            "googleone",
            "구글원",
            "네이버플러스",
            "네이버멤버십",
            "chatgpt",
            "openai",
            "adobe",
            "microsoft365",
            "밀리의서재",
            "리디셀렉트",
            "쿠팡플레이",
            "배민클럽",
            "요기패스",
            "정기구독",
            "구독료",
            "멤버십",
        ],
    ),
    (
        C::Convenience,
        Out,
        &[
            "gs25",
            "cu",
            "씨유",
            "세븐일레븐",
            "7-eleven",
            "7eleven",
            "이마트24",
            "emart24",
            "미니스톱",
            "ministop",
            "스토리웨이",
            "편의점",
        ],
    ),
    (
        C::Cafe,
        Out,
        &[
            "스타벅스",
            "starbucks",
            "투썸플레이스",
            "투썸",
            "이디야",
            "이디야커피",
            "메가커피",
            "메가mgc커피",
            "빽다방",
            "컴포즈커피",
            "할리스",
            "hollys",
            "폴바셋",
            "커피빈",
            "엔제리너스",
            "파스쿠찌",
            "탐앤탐스",
            "블루보틀",
            "더벤티",
            "매머드커피",
            "카페",
            "커피",
            "cafe",
            "coffee",
            "공차",
            "설빙",
            "베스킨라빈스",
            "배스킨라빈스",
            "던킨",
            "파리바게뜨",
            "뚜레쥬르",
        ],
    ),
    (
        C::Delivery,
        Out,
        &[
            "배달의민족",
            "배민",
            "쿠팡이츠",
            "요기요",
            "땡겨요",
            "위메프오",
            "배달",
        ],
    ),
    (
        C::Transport,
        Out,
        &[
            "카카오t",
            "카카오택시",
            "카카오t택시",
            "택시",
            "티머니",
            "tmoney",
            "교통",
            "코레일",
            "korail",
            "srt",
            "에스알",
            "지하철",
            "버스",
            "고속버스",
            "시외버스",
            "대한항공",
            "아시아나",
            "제주항공",
            "진에어",
            "티웨이",
            "에어부산",
            "하이패스",
            "고속도로",
            "주차",
            "주유소",
            "sk에너지",
            "gs칼텍스",
            "s-oil",
            "에쓰오일",
            "현대오일뱅크",
            "쏘카",
            "그린카",
            "타다",
            "우티",
            "따릉이",
            "레일플러스",
            "캐시비",
            "ktx",
            "itx",
        ],
    ),
    (
        C::Food,
        Out,
        &[
            "이마트",
            "emart",
            "홈플러스",
            "롯데마트",
            "코스트코",
            "트레이더스",
            "노브랜드",
            "마켓컬리",
            "컬리",
            "오아시스마켓",
            "하나로마트",
            "농협하나로",
            "gs더프레시",
            "롯데슈퍼",
            "홈플러스익스프레스",
            "이마트에브리데이",
            "식자재",
            "정육점",
            "반찬",
            "김밥천국",
            "김밥",
            "맥도날드",
            "버거킹",
            "롯데리아",
            "맘스터치",
            "kfc",
            "서브웨이",
            "본죽",
            "본도시락",
            "한솥",
            "bbq",
            "bhc",
            "교촌",
            "굽네",
            "도미노",
            "피자헛",
            "파파존스",
            "아웃백",
            "빕스",
            "애슐리",
            "식당",
            "분식",
            "국밥",
            "치킨",
            "떡볶이",
            "엽기떡볶이",
            "신전떡볶이",
            "샐러디",
            "푸드",
            "마트",
            "베이커리",
            "정육",
            "수산",
            "청과",
            "토스트",
            "이삭토스트",
        ],
    ),
    (
        C::Shopping,
        Out,
        &[
            "쿠팡",
            "coupang",
            "무신사",
            "musinsa",
            "올리브영",
            "oliveyoung",
            "다이소",
            "하이마트",
            "롯데하이마트",
            "삼성전자",
            "삼성디지털프라자",
            "디지털프라자",
            "lg베스트샵",
            "전자랜드",
            "11번가",
            "g마켓",
            "gmarket",
            "옥션",
            "위메프",
            "티몬",
            "지그재그",
            "에이블리",
            "29cm",
            "w컨셉",
            "ssg",
            "ssg.com",
            "신세계백화점",
            "롯데백화점",
            "현대백화점",
            "갤러리아",
            "이케아",
            "ikea",
            "유니클로",
            "자라",
            "zara",
            "h&m",
            "나이키",
            "아디다스",
            "abc마트",
            "네이버페이",
            "네이버쇼핑",
            "스마트스토어",
            "알리익스프레스",
            "aliexpress",
            "테무",
            "temu",
            "아마존",
            "amazon",
            "애플스토어",
            "한샘",
            "오늘의집",
            "아울렛",
            "면세점",
        ],
    ),
    (
        C::Medical,
        Out,
        &[
            "의원",
            "내과",
            "외과",
            "치과",
            "한의원",
            "안과",
            "피부과",
            "이비인후과",
            "소아과",
            "소아청소년과",
            "정형외과",
            "산부인과",
            "정신건강의학과",
            "병원",
            "약국",
            "메디컬",
            "클리닉",
            "검진",
            "보건소",
            "동물병원",
        ],
    ),
    (
        C::Education,
        Out,
        &[
            "인프런",
            "클래스101",
            "패스트캠퍼스",
            "유데미",
            "udemy",
            "coursera",
            "교보문고",
            "영풍문고",
            "yes24",
            "예스24",
            "알라딘",
            "학원",
            "영어학원",
            "수학학원",
            "어학원",
            "학습지",
            "교육비",
            "등록금",
            "수업료",
            "과외",
            "도서",
            "서점",
            "토익",
            "ybm",
            "해커스",
        ],
    ),
    (
        C::Leisure,
        Out,
        &[
            "cgv",
            "롯데시네마",
            "메가박스",
            "인터파크티켓",
            "인터파크",
            "예스24티켓",
            "멜론티켓",
            "티켓링크",
            "노래방",
            "코인노래방",
            "pc방",
            "볼링",
            "헬스",
            "피트니스",
            "필라테스",
            "요가",
            "골프",
            "스크린골프",
            "야놀자",
            "여기어때",
            "에어비앤비",
            "airbnb",
            "호텔",
            "리조트",
            "콘도",
            "놀이공원",
            "에버랜드",
            "롯데월드",
            "수영장",
            "스팀",
            "steam",
            "닌텐도",
            "nintendo",
            "플레이스테이션",
            "넥슨",
            "엔씨소프트",
            "게임",
            "꽃집",
            "전시",
            "공연",
        ],
    ),
    (
        C::Transfer,
        Both,
        &[
            "이체",
            "송금",
            "카카오페이",
            "kakaopay",
            "토스",
            "toss",
            "네이버페이송금",
            "오픈뱅킹",
            "타행이체",
            "당행이체",
            "자동이체",
            "계좌이체",
            "펌뱅킹",
            "모임통장",
            "더치페이",
            "카카오뱅크",
            "케이뱅크",
            "토스뱅크",
            "국민은행",
            "신한은행",
            "우리은행",
            "하나은행",
            "농협",
            "기업은행",
            "새마을금고",
            "신협",
            "우체국",
            "인터넷뱅킹",
            "스마트뱅킹",
            "cms",
        ],
    ),
    (
        C::Cash,
        Both,
        &[
            "atm",
            "현금",
            "현금입금",
            "현금출금",
            "atm출금",
            "atm입금",
            "cd출금",
            "무통장입금",
            "창구",
            "자동화기기",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_a_few_hundred_normalised_keywords() {
        let d = Dictionary::builtin();
        assert!(d.len() >= 300, "only {} keywords", d.len());
        for k in d.keywords() {
            assert_eq!(normalize(&k.text), k.text);
        }
    }

    #[test]
    fn new_drops_empty_and_duplicates() {
        let k = |t: &str| Keyword {
            text: t.to_string(),
            category: Category::Food,
            direction: KeywordDirection::Out,
        };
        let d = Dictionary::new([k("김밥"), k(" 김 밥 "), k("  ")]);
        assert_eq!(d.len(), 1);
    }
}
