"""Which encoding text input is in: a charset the input declares, a BOM, or the guess chatcli
makes: UTF-8, else the legacy Chinese, Japanese or Korean encoding the bytes clearly are.

UTF-8 cut in the middle of its last character (``head -c N``, a truncated log) is still UTF-8:
``utf8`` drops the partial character and says so, rather than letting the failed decode send
the bytes on to the legacy guess (mojibake) or to a refusal. Only when what comes before it
holds other UTF-8 characters, or the cut character has two bytes or more: ASCII text ending
in one Latin-1 letter (``caf\xe9``) is not taken for UTF-8.

The legacy CJK encodings (GB18030, Big5, Shift_JIS, EUC-JP, EUC-KR) share their byte ranges:
Shift_JIS and EUC-KR text decodes without error as GB18030, into ideographs nobody wrote, and
``Grüße aus München`` in Latin-1 decodes as GB18030 too. So "it decoded" proves nothing; as
charset detectors do, ``legacy`` reads the bytes in each of them and scores each reading by
the share of its non-ASCII characters that are among the 500 most frequent of its language
(plus kana for Japanese, CJK punctuation for all): the right reading scores 0.6 to 1, a wrong
one near 0 (Shift_JIS read as GB18030 gives rare ideographs, GB18030 read as Shift_JIS gives
half-width katakana). GB18030, the one encoding chatcli has always guessed, is taken as before
(mostly CJK characters, no Private Use ones, not Latin text in cp1252) unless another reading
scores clearly higher; another is taken only when it scores high and clearly above every
other reading. Stdlib only, no import cost: plain text is the common input.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from itertools import islice

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SAMPLE = 20_000  # non-ASCII characters looked at: enough to judge, bounded for 20 MiB input
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:+-]{1,40})""", re.I)

# labels the web uses for a charset Python reads better under another name (WHATWG Encoding):
# pages labelled Latin-1 or ASCII are cp1252 in practice, GB2312/GBK pages are GB18030 subsets
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
# codecs Python has that are no charset a document can sensibly declare
_REFUSED = frozenset(("unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"))


def declared(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, as written, or None."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def codec(label: str | None) -> str | None:
    """The Python codec for a declared charset ``label``; None when Python has no text codec
    of that name (or it is one no document means, such as ``unicode_escape``)."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return "utf-8-sig" if info.name == "utf-8" else info.name


def with_bom(data: bytes) -> str | None:
    """``data`` decoded by its UTF-16 or UTF-8 byte order mark; None without one (or when the
    bytes after it are not in that encoding)."""
    for mark, name in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(mark):
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                if name != "utf-32":  # FF FE 00 00 may be UTF-16LE starting with U+0000
                    return None
    return None


def as_declared(data: bytes, label: str | None) -> str | None:
    """``data`` decoded with the charset ``label`` names; None when the label is unknown or
    the bytes are not valid in it."""
    name = codec(label)
    if name is None:
        return None
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        return None


def guess(data: bytes) -> str | None:
    """``data`` as UTF-8 (BOM or not; a partial last character dropped, see ``utf8``), or in
    the legacy CJK encoding it clearly is (``legacy``); None when it is neither (binary, or
    text in an encoding chatcli does not guess)."""
    read = utf8(data)
    return read[0] if read is not None else legacy(data)[0]


def utf8(data: bytes) -> tuple[str, bool] | None:
    """``data`` as UTF-8 (BOM or not) and whether a partial last character was dropped (the
    input was cut in the middle of it); None when it is not UTF-8."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        # the first invalid byte opens an unfinished character at the very end: all before
        # it is valid UTF-8 (the decoder stops at the first error)
        if exc.reason != "unexpected end of data" or exc.end != len(data):
            return None
        cut = exc.start
    kept = data[:cut]
    if len(data) - cut < 2 and kept.isascii():
        return None  # ASCII and one stray byte: Latin-1 as likely as cut UTF-8
    return kept.decode("utf-8"), True


@dataclass(frozen=True)
class Reading:
    """``data`` read in one legacy CJK encoding, and how plausible that reading is."""

    language: str
    codec: str
    """Python's name of the codec that reads it."""
    label: str
    """iconv's name of the encoding, for a hint (``iconv -f SHIFT_JIS``)."""
    score: float
    """The share of the non-ASCII characters that are common in ``language``."""
    chars: int
    """How many non-ASCII characters were looked at."""


_PREFIX = 256 * 1024  # bytes read in every encoding to score it; the winner reads the rest
_FLOOR = 0.5  # a reading other than GB18030 must score at least this to be taken...
_MARGIN = 0.3  # ...and beat every other one by this much (as must one that beats GB18030)
_FEWEST = 4  # non-ASCII characters too few to tell one encoding from another
_HINTED = 0.2  # a reading that scores this is named in the hint of a refusal


def legacy(data: bytes) -> tuple[str | None, Reading | None]:
    """``data`` in the legacy CJK encoding it clearly is, with that reading; else None and the
    likeliest reading, for a hint (None when none is likely: binary, Latin-1, ...)."""
    found = _readings(data)
    if not found:
        return None, None
    best, rest = found[0], found[1:]
    gb = next((r for r in found if r.codec == "gb18030"), None)
    if gb is not None and not any(r.score >= max(gb.score + _MARGIN, _FLOOR) for r in found):
        text = _decoded(data, gb.codec)
        if text is not None and plausible_gb18030(text, data):
            return text, gb
    runner_up = rest[0].score if rest else 0.0
    if (
        best.codec != "gb18030"
        and best.score >= _FLOOR
        and best.score - runner_up >= _MARGIN
        and best.chars >= _FEWEST
    ):
        text = _decoded(data, best.codec)
        if text is not None:
            return text, best
    return None, (best if best.score >= _HINTED and best.chars else None)


def _readings(data: bytes) -> list[Reading]:
    """Each encoding of ``_LEGACY`` the start of ``data`` is valid in, best reading first."""
    prefix = data[:_PREFIX]
    found: list[Reading] = []
    for language, names, common in _LEGACY:
        for codec, label in names:
            try:  # not final: the prefix may end inside a character
                text = codecs.getincrementaldecoder(codec)().decode(prefix, final=False)
            except UnicodeDecodeError:
                continue
            score, chars = _score(text, common)
            found.append(Reading(language, codec, label, score, chars))
            break
    return sorted(found, key=lambda r: r.score, reverse=True)


def _decoded(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _score(text: str, common: frozenset[str]) -> tuple[float, int]:
    """The share of ``text``'s non-ASCII characters that are in ``common`` or CJK punctuation,
    and how many were looked at (1.0 for none: ASCII is valid in all of them alike)."""
    wide = [m.group() for m in islice(_NON_ASCII.finditer(text), _SAMPLE)]
    if not wide:
        return 1.0, 0
    hits = sum(1 for ch in wide if ch in common or ch in _PUNCTUATION)
    return hits / len(wide), len(wide)


def plausible_gb18030(text: str, data: bytes) -> bool:
    """Whether ``text`` (``data`` decoded as GB18030) reads as Chinese rather than as Latin-1
    (or another single-byte encoding) taken for GB18030."""
    wide = [m.group() for m in islice(_NON_ASCII.finditer(text), _SAMPLE)]
    if not wide:
        return True
    if any(_private(ch) for ch in wide):
        return False
    cjk = sum(1 for ch in wide if _cjk(ch))
    if cjk * 2 < len(wide):
        return False
    return not reads_as_latin(data)


def reads_as_latin(data: bytes) -> bool:
    """Whether ``data`` is cp1252 (or Latin-1) text of a Latin-script language: its non-ASCII
    characters are mostly letters, and those letters mostly sit inside ASCII words (``ü`` in
    ``München``); Chinese bytes read as cp1252 give runs of symbols and letters on their own."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    letters = inside = others = 0
    for match in islice(_NON_ASCII.finditer(text), _SAMPLE):
        ch, at = match.group(), match.start()
        if not ch.isalpha():
            others += 1
            continue
        letters += 1
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        if _ascii_letter(before) or _ascii_letter(after):
            inside += 1
    if not letters:
        return False
    return letters * 10 >= (letters + others) * 6 and inside * 2 >= letters


def _ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _private(ch: str) -> bool:
    code = ord(ch)
    return 0xE000 <= code <= 0xF8FF or code >= 0xF0000


def _cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3000 <= code <= 0x30FF  # CJK symbols and punctuation, hiragana, katakana
        or 0x3100 <= code <= 0x312F  # bopomofo
        or 0x3200 <= code <= 0x33FF  # enclosed CJK, compatibility
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # compatibility forms
        or 0xFF00 <= code <= 0xFFEF  # fullwidth and halfwidth forms
        or 0x20000 <= code <= 0x3FFFF  # extensions B and later
        or 0x2000 <= code <= 0x206F  # general punctuation: “”‘’…— in Chinese text
    )


# --- what each language's text is mostly made of ----------------------------------------------
# The 500 most frequent characters of each language, most frequent first, from the character
# frequency tables of Mozilla's universal charset detector (GB2312, Big5, JIS X 0208 and
# KS X 1001 text). They cover about three quarters of the ideographs of Chinese text, nearly
# all hangul syllables of Korean text; Japanese text is mostly kana besides.

_CHINESE = (
    "的一国在人了有中是年和大业不为发会工经上地市要个产这出行作生家以成到日民来我部对"
    "进多全建他公开们场展时理新方主企资实学报制政济用同于法高长现本月定化加动合品重关"
    "机分力自外者区能设后就等体下万元社过前面农也得与说之员而务利电文事可种总改三各好"
    "金第司其从平代当天水省提商十管内小技位目起海所立已通入量子问度北保心还科委都术使"
    "明着次将增基名向门应里美由规今题记点计去强两些表系办教正条最达特革收二期并程厂如"
    "道际及西口京华任调性导组东路活广意比投决交统党南安此领结营项情解议义山先车然价放"
    "世间因共院步物界集把持无但城相书村求治取原处府研质信四运县军件育局干队团又造形级"
    "标联专少费效据手施权江近深更认果格几看没职服台式益想数单样只被亿老受优常销志战流"
    "很接乡头给至难观指创证织论别五协变风批见究支那查张精每林转划准做需传争税构具百或"
    "才积势举必型易视快李参回引镇首推思完消值该走装众责备州供包副极整确知贸己环话反身"
    "选亚么带采王策真女谈严斯况色打德告仅它气料神率识劳境源青护列兴许户马港则节款拉直"
    "案股光较河花根布线土克再群医清速律她族历非感占续师何影功负验望财类货约艺售连纪按"
    "讯史示象养获石食抓富模始住赛客越闻央席坚"
)
_TRADITIONAL = (
    "的一是不有在人我大了中以會為這國上時來個他可到要年出也生就之能對成十公行後地而多"
    "家們與用下業自學作電日於說發得好過所子和方經都小分新動長事心你台及機如工三因前法"
    "天現二本開外最高同將主當看民美然者理車其但著部表面定市資全此力情間加場文體去政員"
    "點還進很內沒司金相那五無意實月等麼重起由位並元性品四兩想她合只種名關果化水或路已"
    "產提道問目度選更第期教使式明應影些入至手比常代樣務利保回次從特程正計網立百活九設"
    "再總八感女話六讓灣報身示各頭色真物安受做統打己數才題商通任每展知原空交信處萬太先"
    "氣樂北建院被區接畫老球裡今風師七別股華視像又光少服投向則海達許價何愛見管基解音放"
    "東案結調單傳專告議認科造指馬書請未量世該共社口平持件流界術完張系什強即直導山變片"
    "型把費客西給連運醫收觀辦組求腦演技友林門除近研料覺容幾必南號營非改府戰您難望廣且"
    "需士線花局歡具格兒卻較聯斯推記訊快際參制取往包育走言星帶質舉軍陳整治備決病喜轉功"
    "裝約飛錢供義反項類精千器臺圖聲企清論便標李形團易票黨眾證它委規率親聽助效英白男考"
    "遊亞排深配節步始查引預濟神廠警買另集環住製究克候舞輕曾份吃眼滿支象邊消卡試校德續"
    "速權條存熱顯失早獲準照創站香須低房命陸死"
)
_KANJI = (
    "一人使行出見定分上用時方事自合下私動書作思来場手子中入大日間設要何実前文的言御気"
    "以本必生二者変彼通知同最数意能目心後立持名云全理今無対起込問小葉新関部当度可法力"
    "情様取正女話成点年語表先他内続物音読家三次報十明示不例所訳記聞有多切指付機注外送"
    "接考信少体長現字利発別顔開引面解題置加初身向地在番更性高電常構際世違味化直学口月"
    "存単色参説始得感号特代君割白屋確返配傍然会認相連受近限野好呼版声空頭決山重帰端田"
    "母古主追足形調結仕換値風業末男金等終笑応含制着処僕悪回夫想国落再水父眼式組安良真"
    "原期種経共木容照夜線五非義答平過保道述集親死質由四兄早張供余画態状準細待速車類流"
    "馬位詳識島郎仮著青選居果打残元門計第食歩布論座苦覚簡楽命効社申適提愛強両京境造突"
    "複活検失標達異船天神段東除光教許消覧品各権誰奥紙朝倉右基移病台進我押急章側寝界藤"
    "八貴転止降列六寄般普公半黒海勝為頃暗戸環断反録管村個遠川修深完念求花左格忘飛与議"
    "振美路和告伝程役広乗扱走了互赤頼若草氏火将九影横似渡姿択従室又去術恐運衛抜装町掛"
    "士試胸売如太階底順石働離証望茶助域係静済万波驚独久七放量圧低片領判約難属像素節岡"
    "致婦並井客背編視築歌件沢価印予囲探製改都"
)
_HANGUL = (
    "다이는하에을의로를한스서지가은있고리어기것용사수일트해시그들도정자면니인라으할나"
    "드보만여파되설게대터러제문아프부우적된버과모주위치크분와전디요메소상명경않작때음"
    "실신야장바데입같행구세내포동화템눅마른없당유호록개원성함습비합필번방커더결운든네"
    "간널단관션키래능저공각두패려토오램안중연력거령조법계미며워예또레생재선타진본알반"
    "렉통업컴었체준많히변접역식속등확처글약무블될매페현표브웨출름테목루형배추팅환발티"
    "쓰말했까특클언넷떤항임점값카참열영따코택받최직르몇줄링런란읽윈새질후립복료플옵찾"
    "렇권째좋태별물람겠편린퓨볼므근차종못초잘달절머존져외써검뉴됩금불판베색피집림았럼"
    "떻심누퍼웍순킷허련막얻케얼듈끝완론양꼴갖넣싶첫산곳송놓즉느올돌튼응격먼길답던백꾸"
    "콜앞였축혹쉘건너감쪽회움증룹캐술닉규맞책웹청류엔교릭엇온쉽급십께셋빠턴켜향텍난뒬"
    "렬품풀좀콘켓컬노걸쉬큐날붙쓸석뒤쳐충럽긴잡험년락벽살딩즈박효럭킨낸월뎀죠압숫킹몬"
    "강국킬넘닌뿐활롬픽겨담투왜창병솔짜삭군줍폴홈톨릴슬졌폰칙섹견낼햇울밀큰젝맨및떠롤"
    "밍펴애둘채헤혀멀벨슷억독취남랍범젼냐학황손왑센큼랙핑평량틸암익높툴략꼭냥즘쓴왔찬"
    "밖갈듯침옮칩씩논겁측랜텔뜻컨율친틀천핸벤"
)

# the tables come from news text: the words of a conversation rank lower there
_SPOKEN, _SPOKEN_TRADITIONAL = "你您吗呢吧啊哦嗯谢请哪怎", "你您嗎呢吧啊哦謝請哪怎"
_KANA = "".join(map(chr, range(0x3041, 0x3097))) + "".join(map(chr, range(0x30A1, 0x30FF)))
_PUNCTUATION = frozenset(
    "".join(map(chr, range(0x3000, 0x3040)))  # CJK symbols and punctuation: 、。「」《》
    + "".join(map(chr, range(0xFF01, 0xFF5F)))  # fullwidth forms: ，．！？（）０-９Ａ-Ｚ
    + "“”‘’…—―·"
)
_LEGACY: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[str]], ...] = (
    # (language, (Python codec, iconv name) tried in order, its common characters)
    ("Chinese", (("gb18030", "GB18030"),), frozenset(_CHINESE + _SPOKEN)),
    (
        "Chinese",
        (("big5", "BIG5"), ("cp950", "CP950"), ("big5hkscs", "BIG5-HKSCS")),
        frozenset(_TRADITIONAL + _SPOKEN_TRADITIONAL),
    ),
    ("Japanese", (("shift_jis", "SHIFT_JIS"), ("cp932", "CP932")), frozenset(_KANJI + _KANA)),
    ("Japanese", (("euc_jp", "EUC-JP"),), frozenset(_KANJI + _KANA)),
    ("Korean", (("euc_kr", "EUC-KR"), ("cp949", "CP949")), frozenset(_HANGUL + "녕")),
)
