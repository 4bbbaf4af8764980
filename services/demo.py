"""The demo catalogue (DESIGN §10): data dictionary, document types, services and life events.

Idempotent: a second run changes nothing. Every version is published through
`services.actions.version_publish`, so the demo passes the same validation as an
administrator's work. Automatic steps need the engine's handlers (workflows/engine/handlers.py):
if they are not registered, seeding stops with an error naming them.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import Department
from services import registry
from services.actions import PublishRefused, catalogue_change_record, version_publish
from services.models import (
    CatalogueChange,
    DataElement,
    DocumentType,
    Fee,
    FormField,
    LifeEvent,
    LifeEventService,
    MaterialRequirement,
    Service,
    ServiceVersion,
)

PDF_AND_IMAGES = ["application/pdf", "image/jpeg", "image/png"]
PDF = ["application/pdf"]

# key, kind, English label, Chinese label, sensitivity, options
ELEMENTS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("person.full_name", "text", "Full name", "姓名", "personal", {"max_length": 100}),
    ("person.id_number", "resident_id", "Resident ID number", "居民身份证号码", "sensitive", {}),
    ("person.phone", "phone", "Phone number", "联系电话", "personal", {}),
    ("person.email", "email", "E-mail address", "电子邮箱", "personal", {"max_length": 254}),
    ("person.address", "address", "Home address", "居住地址", "personal", {"max_length": 300}),
    ("person.date_of_birth", "date", "Date of birth", "出生日期", "personal", {}),
    (
        "person.marital_status",
        "choice",
        "Marital status",
        "婚姻状况",
        "personal",
        {
            "choices": [
                {"value": "single", "label_en": "Never married", "label_zh": "未婚"},
                {"value": "married", "label_en": "Married", "label_zh": "已婚"},
                {"value": "divorced", "label_en": "Divorced", "label_zh": "离异"},
                {"value": "widowed", "label_en": "Widowed", "label_zh": "丧偶"},
            ]
        },
    ),
    (
        "person.months_resident",
        "number",
        "Months lived in this city",
        "在本市居住月数",
        "personal",
        {
            "min_value": Decimal(0),
            "max_value": Decimal(1200),
            "help_en": "Count whole months.",
            "help_zh": "按整月计算。",
        },
    ),
    ("person.employed", "boolean", "Are you employed now?", "您目前是否在职？", "personal", {}),
    (
        "person.social_insurance_months",
        "number",
        "Months of social insurance paid",
        "社会保险累计缴费月数",
        "personal",
        {"min_value": Decimal(0), "max_value": Decimal(600)},
    ),
    (
        "household.is_local",
        "boolean",
        "Does the mother or father hold a household registration (hukou) in this city?",
        "父母一方是否为本市户籍？",
        "personal",
        {},
    ),
    (
        "household.size",
        "number",
        "People in the household",
        "家庭人口数",
        "personal",
        {"min_value": Decimal(1), "max_value": Decimal(30)},
    ),
    (
        "household.monthly_income_per_person",
        "decimal",
        "Monthly income per person (CNY)",
        "家庭月人均收入（元）",
        "sensitive",
        {"min_value": Decimal(0)},
    ),
    ("spouse.full_name", "text", "Spouse's full name", "配偶姓名", "personal", {"max_length": 100}),
    ("spouse.id_number", "resident_id", "Spouse's resident ID number", "配偶居民身份证号码", "sensitive", {}),
    ("business.name", "text", "Business name", "企业名称", "public", {"min_length": 2, "max_length": 100}),
    ("business.address", "address", "Business premises address", "经营场所地址", "public", {"max_length": 300}),
    (
        "business.floor_area_m2",
        "decimal",
        "Floor area of the premises (m²)",
        "经营场所面积（平方米）",
        "public",
        {"min_value": Decimal(1), "max_value": Decimal(100000)},
    ),
    (
        "business.seats",
        "number",
        "Number of seats",
        "座位数",
        "public",
        {"min_value": Decimal(0), "max_value": Decimal(5000)},
    ),
    ("business.has_employees", "boolean", "Will the business employ staff?", "是否雇用员工？", "public", {}),
    (
        "business.cuisine",
        "choice",
        "Kind of food business",
        "餐饮类别",
        "public",
        {
            "choices": [
                {"value": "chinese", "label_en": "Chinese restaurant", "label_zh": "中餐"},
                {"value": "western", "label_en": "Western restaurant", "label_zh": "西餐"},
                {"value": "fast_food", "label_en": "Fast food", "label_zh": "快餐"},
                {"value": "tea_dessert", "label_en": "Tea and desserts", "label_zh": "饮品甜点"},
                {"value": "other", "label_en": "Other", "label_zh": "其他"},
            ]
        },
    ),
    (
        "business.legal_form",
        "choice",
        "Legal form",
        "市场主体类型",
        "public",
        {
            "choices": [
                {"value": "individual", "label_en": "Individual business", "label_zh": "个体工商户"},
                {"value": "company", "label_en": "Limited company", "label_zh": "有限责任公司"},
                {"value": "partnership", "label_en": "Partnership", "label_zh": "合伙企业"},
            ]
        },
    ),
    (
        "business.registered_capital",
        "decimal",
        "Registered capital (CNY)",
        "注册资本（元）",
        "public",
        {"min_value": Decimal(0)},
    ),
    ("baby.name", "text", "Baby's name", "新生儿姓名", "personal", {"max_length": 100}),
    (
        "baby.sex",
        "choice",
        "Baby's sex",
        "新生儿性别",
        "personal",
        {
            "choices": [
                {"value": "female", "label_en": "Female", "label_zh": "女"},
                {"value": "male", "label_en": "Male", "label_zh": "男"},
            ]
        },
    ),
    ("baby.date_of_birth", "date", "Baby's date of birth", "新生儿出生日期", "personal", {}),
    ("baby.birth_hospital", "text", "Hospital where the baby was born", "出生医院", "personal", {"max_length": 200}),
    (
        "baby.born_in_hospital",
        "boolean",
        "Was the baby born in a hospital or registered birth centre?",
        "是否在医疗机构内出生？",
        "personal",
        {},
    ),
    ("mother.full_name", "text", "Mother's full name", "母亲姓名", "personal", {"max_length": 100}),
    ("mother.id_number", "resident_id", "Mother's resident ID number", "母亲居民身份证号码", "sensitive", {}),
    ("father.full_name", "text", "Father's full name", "父亲姓名", "personal", {"max_length": 100}),
    ("father.id_number", "resident_id", "Father's resident ID number", "父亲居民身份证号码", "sensitive", {}),
]

# code, English, Chinese, content types, validity days
DOCUMENT_TYPES: list[tuple[str, str, str, list[str], int | None]] = [
    ("id-card", "Resident identity card (both sides)", "居民身份证（正反面）", PDF_AND_IMAGES, None),
    ("lease-agreement", "Lease agreement for the premises", "经营场所租赁合同", PDF_AND_IMAGES, 365),
    ("floor-plan", "Floor plan of the premises", "经营场所平面布局图", PDF_AND_IMAGES, None),
    ("health-certificate", "Health certificate for food handlers", "食品从业人员健康证明", PDF_AND_IMAGES, 365),
    ("birth-medical-certificate", "Birth medical certificate", "出生医学证明", PDF_AND_IMAGES, None),
    ("household-register", "Household register (hukou booklet)", "居民户口簿", PDF_AND_IMAGES, None),
    ("marriage-certificate", "Marriage certificate", "结婚证", PDF_AND_IMAGES, None),
    ("food-business-licence", "Food business licence", "食品经营许可证", PDF, 1825),
    ("business-licence", "Business licence", "营业执照", PDF, None),
    (
        "fire-safety-certificate",
        "Fire safety inspection certificate",
        "公众聚集场所投入使用营业前消防安全检查合格证",
        PDF,
        None,
    ),
    ("tax-registration-certificate", "Tax registration certificate", "税务登记证明", PDF, None),
    ("tax-payment-certificate", "Tax payment certificate", "纳税证明", PDF, 90),
    ("social-insurance-card", "Social security card registration", "社会保障卡登记凭证", PDF, None),
    ("maternity-allowance-decision", "Maternity allowance decision", "生育津贴核定通知书", PDF, None),
    ("residence-permit", "Residence permit", "居住证", PDF, 365),
    ("minimum-living-allowance-decision", "Minimum living allowance decision", "最低生活保障审批决定书", PDF, 365),
    ("unemployment-benefit-decision", "Unemployment benefit decision", "失业保险金核定通知书", PDF, None),
    ("income-statement", "Statement of household income", "家庭收入情况说明", PDF_AND_IMAGES, 90),
    ("fire-safety-plan", "Fire safety rules and evacuation plan", "消防安全制度和灭火应急疏散预案", PDF, None),
]

ABOUT_YOU = ("About you", "申请人信息")
BUSINESS = ("Your business", "经营信息")
BABY = ("The baby", "新生儿信息")
PARENTS = ("The parents", "父母信息")
HOUSEHOLD = ("Your household", "家庭情况")
MARRIAGE = ("Your spouse", "配偶信息")
WORK = ("Work and insurance", "就业和参保情况")

APPLICANT_FIELDS = [
    ("person.full_name", ABOUT_YOU),
    ("person.id_number", ABOUT_YOU),
    ("person.phone", ABOUT_YOU),
]


def _field(key: str, section: tuple[str, str], required: bool = True, when: dict | None = None) -> dict:
    return {"key": key, "section": section, "required": required, "when": when}


def _fields(pairs: list[tuple[str, tuple[str, str]]]) -> list[dict]:
    return [_field(key, section) for key, section in pairs]


def _rule(when: dict, reason_en: str, reason_zh: str) -> dict:
    return {"when": when, "reason_en": reason_en, "reason_zh": reason_zh}


def _step(key: str, department: str, kind: str, label_en: str, label_zh: str, **more: Any) -> dict:
    return {"key": key, "department": department, "kind": kind, "label_en": label_en, "label_zh": label_zh, **more}


SERVICES: list[dict[str, Any]] = [
    {
        "code": "business-licence",
        "department": "market",
        "category": "business",
        "name": ("Register a business (business licence)", "市场主体登记（营业执照）"),
        "summary": (
            "Register a company or individual business and get its business licence, the first step to trading.",
            "办理企业或个体工商户设立登记，领取营业执照，这是开展经营的第一步。",
        ),
        "tags": ["business", "company", "start", "licence", "营业执照", "开办企业"],
        "time_limit_days": 3,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("business.name", BUSINESS),
            _field("business.legal_form", BUSINESS),
            _field("business.address", BUSINESS),
            _field("business.registered_capital", BUSINESS, when={"element": "business.legal_form", "eq": "company"}),
        ],
        "materials": [("id-card", True, None), ("lease-agreement", True, None)],
        "fees": [],
        "eligibility": [],
        "route": [
            _step("examine", "market", "review", "Examine the registration", "登记审查", sla_days=3),
            _step(
                "issue",
                "market",
                "issue",
                "Issue the business licence",
                "核发营业执照",
                after=["examine"],
                document_type="business-licence",
            ),
        ],
    },
    {
        "code": "food-business-permit",
        "department": "market",
        "category": "business",
        "name": ("Apply for a food business licence", "食品经营许可"),
        "summary": (
            "Needed before you sell or serve food. Market Regulation and the Health Commission check your premises "
            "at the same time; the Fire and Rescue Department inspects premises larger than 300 m².",
            "销售或提供餐饮服务前须取得。市场监管部门与卫生健康部门同步审查；经营面积超过300平方米的，由消防救援部门进行检查。",
        ),
        "tags": ["restaurant", "food", "catering", "cafe", "餐饮", "饭店", "食品"],
        "time_limit_days": 10,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("business.name", BUSINESS),
            _field("business.address", BUSINESS),
            _field("business.cuisine", BUSINESS),
            _field("business.floor_area_m2", BUSINESS),
            _field("business.seats", BUSINESS),
            _field("business.has_employees", BUSINESS),
        ],
        "materials": [
            ("business-licence", True, None),
            ("lease-agreement", True, None),
            ("floor-plan", True, None),
            ("health-certificate", True, {"element": "business.has_employees", "is_true": True}),
            ("fire-safety-plan", True, {"element": "business.floor_area_m2", "gt": 300}),
        ],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "business.floor_area_m2", "gte": 10},
                "Premises that serve food must have at least 10 m² of floor area.",
                "餐饮服务经营场所面积不得少于10平方米。",
            ),
            _rule(
                {"element": "business.cuisine", "is_set": True},
                "Tell us what kind of food business you will run.",
                "请选择餐饮类别。",
            ),
        ],
        "route": [
            _step("examine", "market", "review", "Examine the application", "材料审查", sla_days=3),
            _step("health", "health", "review", "Hygiene review", "卫生审查", after=["examine"], sla_days=5),
            _step(
                "fire",
                "fire",
                "review",
                "Fire safety inspection",
                "消防安全检查",
                after=["examine"],
                sla_days=7,
                when={"element": "business.floor_area_m2", "gt": 300},
            ),
            _step(
                "site",
                "market",
                "review",
                "Inspect the premises",
                "现场核查",
                after=["examine"],
                sla_days=5,
                transfer_to=["health"],  # the inspection may go to the health commission
            ),
            _step(
                "issue",
                "market",
                "issue",
                "Issue the food business licence",
                "核发食品经营许可证",
                after=["health", "fire", "site"],
                document_type="food-business-licence",
            ),
        ],
    },
    {
        "code": "tax-registration",
        "department": "tax",
        "category": "tax",
        "name": ("Register for tax", "新办纳税人涉税事项"),
        "summary": (
            "Register a new business with the Taxation Bureau: taxpayer details, invoices and tax types.",
            "新开办企业向税务机关办理信息确认、发票领用和税种认定。",
        ),
        "tags": ["tax", "invoice", "business", "税务", "发票", "开办企业"],
        "time_limit_days": 2,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("business.name", BUSINESS),
            _field("business.legal_form", BUSINESS),
            _field("business.address", BUSINESS),
            _field("business.has_employees", BUSINESS),
        ],
        "materials": [("business-licence", True, None)],
        "fees": [],
        "eligibility": [],
        "route": [
            _step("register", "tax", "automatic", "Register the taxpayer", "纳税人信息登记", handler="tax.register"),
            _step("confirm", "tax", "review", "Confirm tax types", "税种认定", after=["register"], sla_days=2),
            _step(
                "issue",
                "tax",
                "issue",
                "Issue the tax registration certificate",
                "出具税务登记证明",
                after=["confirm"],
                document_type="tax-registration-certificate",
            ),
        ],
    },
    {
        "code": "fire-safety-check",
        "department": "fire",
        "category": "safety",
        "name": ("Fire safety check before opening a public venue", "公众聚集场所投入使用、营业前消防安全检查"),
        "summary": (
            "Shops, restaurants, hotels and other public venues are checked before they open to the public.",
            "商场、饭店、宾馆等公众聚集场所在投入使用、营业前须经消防安全检查。",
        ),
        "tags": ["fire", "safety", "venue", "消防", "安全检查"],
        "time_limit_days": 10,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("business.name", BUSINESS),
            _field("business.address", BUSINESS),
            _field("business.floor_area_m2", BUSINESS),
        ],
        "materials": [("business-licence", True, None), ("fire-safety-plan", True, None), ("floor-plan", True, None)],
        "fees": [],
        "eligibility": [],
        "route": [
            _step("documents", "fire", "review", "Check the documents", "材料审查", sla_days=3),
            _step("site", "fire", "review", "Inspect the venue", "现场检查", after=["documents"], sla_days=7),
            _step(
                "issue",
                "fire",
                "issue",
                "Issue the inspection certificate",
                "核发检查合格证",
                after=["site"],
                document_type="fire-safety-certificate",
            ),
        ],
    },
    {
        "code": "health-certificate",
        "department": "health",
        "category": "health",
        "name": ("Health certificate for food handlers", "食品从业人员健康证明"),
        "summary": (
            "A yearly health check for people who handle food, such as cooks and waiting staff.",
            "厨师、服务员等直接接触入口食品的从业人员每年须进行健康检查。",
        ),
        "tags": ["health", "food", "staff", "健康证", "体检"],
        "time_limit_days": 5,
        "fields": [*_fields(APPLICANT_FIELDS), _field("person.date_of_birth", ABOUT_YOU)],
        "materials": [("id-card", True, None)],
        "fees": [(("Health examination", "健康体检费"), Decimal("65.00"))],
        "eligibility": [],
        "route": [
            _step("examine", "health", "review", "Health examination", "健康检查", sla_days=5),
            _step(
                "issue",
                "health",
                "issue",
                "Issue the health certificate",
                "出具健康证明",
                after=["examine"],
                document_type="health-certificate",
            ),
        ],
    },
    {
        "code": "birth-medical-certificate",
        "department": "health",
        "category": "family",
        "name": ("Get a birth medical certificate", "出生医学证明办理"),
        "summary": (
            "The certificate of a baby's birth, issued by the hospital and the Health Commission. "
            "You need it to register the baby's household registration.",
            "由助产机构和卫生健康部门签发的新生儿出生证明，是办理出生登记（落户）的必备材料。",
        ),
        "tags": ["baby", "birth", "newborn", "出生", "新生儿", "生孩子"],
        "time_limit_days": 5,
        "fields": [
            _field("mother.full_name", PARENTS),
            _field("mother.id_number", PARENTS),
            _field("father.full_name", PARENTS),
            _field("father.id_number", PARENTS),
            _field("baby.name", BABY),
            _field("baby.sex", BABY),
            _field("baby.date_of_birth", BABY),
            _field("baby.born_in_hospital", BABY),
            _field("baby.birth_hospital", BABY, when={"element": "baby.born_in_hospital", "is_true": True}),
            _field("person.phone", ABOUT_YOU),
        ],
        "materials": [("id-card", True, None)],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "baby.born_in_hospital", "is_true": True},
                "A birth medical certificate is issued for births in a hospital or registered birth centre. "
                "For a birth elsewhere, the Health Commission must first confirm the birth.",
                "出生医学证明仅签发给在医疗机构内出生的新生儿；在医疗机构外出生的，须先由卫生健康部门进行出生核实。",
            )
        ],
        "route": [
            _step("verify", "health", "review", "Verify the birth record", "核对出生信息", sla_days=3),
            _step(
                "issue",
                "health",
                "issue",
                "Issue the birth medical certificate",
                "签发出生医学证明",
                after=["verify"],
                document_type="birth-medical-certificate",
            ),
        ],
    },
    {
        "code": "newborn-household-registration",
        "department": "psb",
        "category": "identity",
        "name": ("Register a newborn's household registration", "新生儿出生登记（落户）"),
        "summary": (
            "Enter your baby in the household register (hukou). The parents' identities are checked "
            "automatically, then a household registration officer approves.",
            "为新生儿办理户口登记。系统自动核验父母身份，再由户籍民警审核。",
        ),
        "tags": ["baby", "hukou", "household", "newborn", "户口", "落户", "新生儿"],
        "time_limit_days": 5,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("household.is_local", HOUSEHOLD),
            _field("mother.full_name", PARENTS),
            _field("mother.id_number", PARENTS),
            _field("father.full_name", PARENTS),
            _field("father.id_number", PARENTS),
            _field("baby.name", BABY),
            _field("baby.sex", BABY),
            _field("baby.date_of_birth", BABY),
        ],
        "materials": [
            ("birth-medical-certificate", True, None),
            ("household-register", True, None),
            ("marriage-certificate", False, None),
        ],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "household.is_local", "is_true": True},
                "The baby can be registered here only when the mother or the father holds a household "
                "registration in this city.",
                "父母一方须为本市户籍，方可在本市为新生儿办理落户。",
            )
        ],
        "route": [
            _step(
                "identity",
                "psb",
                "automatic",
                "Check the parents' identities",
                "核验父母身份",
                handler="psb.verify_identity",
            ),
            _step(
                "register", "psb", "review", "Household registration review", "户籍审核", after=["identity"], sla_days=3
            ),
            _step(
                "issue",
                "psb",
                "issue",
                "Update the household register",
                "签发户口登记页",
                after=["register"],
                document_type="household-register",
            ),
        ],
    },
    {
        "code": "newborn-social-insurance",
        "department": "hrss",
        "category": "employment",
        "name": ("Enrol a newborn in medical insurance", "新生儿参加城乡居民医疗保险"),
        "summary": (
            "Enrol your baby in residents' medical insurance and get a social security card.",
            "为新生儿办理城乡居民基本医疗保险参保登记并申领社会保障卡。",
        ),
        "tags": ["baby", "insurance", "social security", "医保", "社保卡", "新生儿"],
        "time_limit_days": 5,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("baby.name", BABY),
            _field("baby.sex", BABY),
            _field("baby.date_of_birth", BABY),
        ],
        "materials": [("birth-medical-certificate", True, None), ("household-register", True, None)],
        "fees": [(("Residents' medical insurance, first year", "城乡居民医保首年个人缴费"), Decimal("380.00"))],
        "eligibility": [],
        "route": [
            _step("enrol", "hrss", "review", "Enrolment", "参保登记", sla_days=3),
            _step(
                "issue",
                "hrss",
                "issue",
                "Register the social security card",
                "社会保障卡登记",
                after=["enrol"],
                document_type="social-insurance-card",
            ),
        ],
    },
    {
        "code": "maternity-allowance",
        "department": "hrss",
        "category": "employment",
        "name": ("Claim maternity allowance", "生育津贴申领"),
        "summary": (
            "Paid to insured employees during maternity leave. Social Security checks your contributions while "
            "the Health Commission confirms the birth.",
            "参保职工产假期间按规定享受生育津贴。社保部门核对缴费记录，卫生健康部门同步核实生育信息。",
        ),
        "tags": ["baby", "maternity", "allowance", "leave", "生育津贴", "产假"],
        "time_limit_days": 10,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("person.employed", WORK),
            _field("person.social_insurance_months", WORK),
            _field("baby.date_of_birth", BABY),
        ],
        "materials": [("birth-medical-certificate", True, None)],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "person.employed", "is_true": True},
                "Maternity allowance is paid to people in insured employment.",
                "生育津贴发放对象为在职参保人员。",
            ),
            _rule(
                {"element": "person.social_insurance_months", "gte": 12},
                "You need at least 12 months of maternity insurance contributions before the birth.",
                "分娩前须累计缴纳生育保险满12个月。",
            ),
        ],
        "route": [
            _step("contributions", "hrss", "review", "Check contributions", "核对缴费记录", sla_days=5),
            _step("birth", "health", "review", "Confirm the birth", "核实生育信息", sla_days=5),
            _step(
                "issue",
                "hrss",
                "issue",
                "Decide the allowance",
                "核定生育津贴",
                after=["contributions", "birth"],
                document_type="maternity-allowance-decision",
            ),
        ],
    },
    {
        "code": "residence-permit",
        "department": "psb",
        "category": "identity",
        "name": ("Apply for a residence permit", "居住证申领"),
        "summary": (
            "For people who live here without a local household registration: access to local public services.",
            "非本市户籍人员在本市居住满半年的，可申领居住证，享受基本公共服务。",
        ),
        "tags": ["residence", "permit", "move", "居住证", "来沪", "外来人员"],
        "time_limit_days": 15,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("person.address", ABOUT_YOU),
            _field("person.months_resident", ABOUT_YOU),
        ],
        "materials": [("id-card", True, None), ("lease-agreement", True, None)],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "person.months_resident", "gte": 6},
                "You must have lived in the city for at least six months.",
                "须在本市居住满六个月。",
            )
        ],
        "route": [
            _step("check", "psb", "review", "Check residence", "居住核查", sla_days=10),
            _step(
                "issue",
                "psb",
                "issue",
                "Issue the residence permit",
                "制发居住证",
                after=["check"],
                document_type="residence-permit",
            ),
        ],
    },
    {
        "code": "marriage-registration",
        "department": "civil",
        "category": "family",
        "name": ("Register a marriage", "结婚登记"),
        "summary": (
            "Book and register your marriage at the marriage registry. Both of you come in person to sign.",
            "预约并办理结婚登记，双方须亲自到婚姻登记处签字。",
        ),
        "tags": ["marriage", "wedding", "family", "结婚", "婚姻登记"],
        "time_limit_days": 1,
        "online": False,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("person.marital_status", ABOUT_YOU),
            _field("spouse.full_name", MARRIAGE),
            _field("spouse.id_number", MARRIAGE),
        ],
        "materials": [("id-card", True, None), ("household-register", True, None)],
        "fees": [(("Certificate fee", "结婚证工本费"), Decimal("9.00"))],
        "eligibility": [
            _rule(
                {"element": "person.marital_status", "in": ["single", "divorced", "widowed"]},
                "You cannot register a new marriage while you are married.",
                "已婚人员不能再次办理结婚登记。",
            )
        ],
        "route": [
            _step("register", "civil", "review", "Registration at the registry", "婚姻登记审查", sla_days=1),
            _step(
                "issue",
                "civil",
                "issue",
                "Issue the marriage certificate",
                "颁发结婚证",
                after=["register"],
                document_type="marriage-certificate",
            ),
        ],
    },
    {
        "code": "minimum-living-allowance",
        "department": "civil",
        "category": "social",
        "name": ("Apply for the minimum living allowance", "最低生活保障申请"),
        "summary": (
            "Monthly support for households whose income per person is below the local minimum living standard.",
            "家庭月人均收入低于当地最低生活保障标准的，可申请最低生活保障金。",
        ),
        "tags": ["allowance", "income", "support", "低保", "救助"],
        "time_limit_days": 30,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("person.address", ABOUT_YOU),
            _field("household.size", HOUSEHOLD),
            _field("household.monthly_income_per_person", HOUSEHOLD),
        ],
        "materials": [("household-register", True, None), ("income-statement", True, None)],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "household.monthly_income_per_person", "lt": 1320},
                "The household's income per person must be below the minimum living standard of ¥1,320 a month.",
                "家庭月人均收入须低于本市最低生活保障标准（每月1320元）。",
            )
        ],
        "route": [
            _step("assess", "civil", "review", "Assess the household", "家庭经济状况核查", sla_days=20),
            _step("employment", "hrss", "review", "Check employment records", "核对就业参保信息", sla_days=5),
            _step(
                "issue",
                "civil",
                "issue",
                "Decide the allowance",
                "审批决定",
                after=["assess", "employment"],
                document_type="minimum-living-allowance-decision",
            ),
        ],
    },
    {
        "code": "unemployment-benefit",
        "department": "hrss",
        "category": "employment",
        "name": ("Claim unemployment benefit", "失业保险金申领"),
        "summary": (
            "Monthly benefit for insured people who lost their job through no choice of their own.",
            "非因本人意愿中断就业的参保人员，可申领失业保险金。",
        ),
        "tags": ["unemployment", "job", "benefit", "失业", "失业金"],
        "time_limit_days": 10,
        "fields": [
            *_fields(APPLICANT_FIELDS),
            _field("person.employed", WORK),
            _field("person.social_insurance_months", WORK),
        ],
        "materials": [("id-card", True, None)],
        "fees": [],
        "eligibility": [
            _rule(
                {"element": "person.employed", "is_false": True},
                "Unemployment benefit is for people who are not working now.",
                "失业保险金仅发放给目前处于失业状态的人员。",
            ),
            _rule(
                {"element": "person.social_insurance_months", "gte": 12},
                "You need at least 12 months of unemployment insurance contributions.",
                "须累计缴纳失业保险费满12个月。",
            ),
        ],
        "route": [
            _step("check", "hrss", "review", "Check the claim", "资格审核", sla_days=10),
            _step(
                "issue",
                "hrss",
                "issue",
                "Decide the benefit",
                "核定失业保险金",
                after=["check"],
                document_type="unemployment-benefit-decision",
            ),
        ],
    },
    {
        "code": "tax-payment-certificate",
        "department": "tax",
        "category": "tax",
        "name": ("Get a tax payment certificate", "开具纳税证明"),
        "summary": (
            "A statement of the taxes you have paid, for example for a loan, a visa or a school place.",
            "开具个人或企业的完税情况证明，可用于贷款、签证、入学等。",
        ),
        "tags": ["tax", "certificate", "proof", "纳税证明", "完税"],
        "time_limit_days": 1,
        "fields": [*_fields(APPLICANT_FIELDS)],
        "materials": [],
        "fees": [],
        "eligibility": [],
        "route": [
            _step("check", "tax", "review", "Check payment records", "核对缴税记录", sla_days=1),
            _step(
                "issue",
                "tax",
                "issue",
                "Issue the certificate",
                "开具纳税证明",
                after=["check"],
                document_type="tax-payment-certificate",
            ),
        ],
    },
]

LIFE_EVENTS = [
    {
        "code": "open-a-restaurant",
        "name": ("Open a restaurant", "开办餐饮店"),
        "summary": (
            "Everything you need to open a restaurant in one application: business licence, food business "
            "licence (with the hygiene review, and the fire safety inspection for premises over 300 m²) and "
            "tax registration.",
            "一次申请办完开餐馆所需事项：营业执照、食品经营许可（含卫生审查，面积超过300平方米的含消防安全检查）和税务登记。",
        ),
        "services": ["business-licence", "food-business-permit", "tax-registration"],
    },
    {
        "code": "have-a-baby",
        "name": ("Have a baby", "生孩子"),
        "summary": (
            "After the birth, one application for the birth medical certificate, the baby's household "
            "registration, medical insurance for the newborn and maternity allowance.",
            "宝宝出生后，一次申请办理出生医学证明、新生儿落户、新生儿医保参保和生育津贴。",
        ),
        "services": [
            "birth-medical-certificate",
            "newborn-household-registration",
            "newborn-social-insurance",
            "maternity-allowance",
        ],
    },
]


def _seed_elements() -> dict[str, DataElement]:
    elements = {}
    for key, kind, label_en, label_zh, sensitivity, options in ELEMENTS:
        element, _ = DataElement.objects.update_or_create(
            key=key,
            defaults={
                "kind": kind,
                "label_en": label_en,
                "label_zh": label_zh,
                "sensitivity": sensitivity,
                "help_en": options.get("help_en", ""),
                "help_zh": options.get("help_zh", ""),
                "min_length": options.get("min_length"),
                "max_length": options.get("max_length"),
                "min_value": options.get("min_value"),
                "max_value": options.get("max_value"),
                "choices": options.get("choices", []),
            },
        )
        elements[key] = element
    return elements


def _seed_document_types() -> dict[str, DocumentType]:
    types = {}
    for code, name_en, name_zh, content_types, validity_days in DOCUMENT_TYPES:
        document_type, _ = DocumentType.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_zh": name_zh,
                "allowed_content_types": content_types,
                "validity_days": validity_days,
            },
        )
        types[code] = document_type
    return types


def _missing_handlers() -> list[str]:
    needed = {step["handler"] for spec in SERVICES for step in spec["route"] if step["kind"] == "automatic"}
    return sorted(name for name in needed if not registry.is_registered(name))


def _seed_service(spec: dict, elements: dict[str, DataElement], types: dict[str, DocumentType]) -> Service:
    department = Department.objects.get(code=spec["department"])
    service, created = Service.objects.update_or_create(
        code=spec["code"],
        defaults={
            "lead_department": department,
            "name_en": spec["name"][0],
            "name_zh": spec["name"][1],
            "summary_en": spec["summary"][0],
            "summary_zh": spec["summary"][1],
            "category": spec["category"],
            "life_situations": spec["tags"],
            "online": spec.get("online", True),
            "at_counter": spec.get("at_counter", True),
        },
    )
    if created:
        catalogue_change_record(actor=None, obj=service, action=CatalogueChange.Action.CREATED)
    if service.versions.filter(status=ServiceVersion.Status.PUBLISHED).exists():
        return service  # already published: a second run changes nothing
    service.versions.filter(status=ServiceVersion.Status.DRAFT).delete()
    number = (service.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = ServiceVersion.objects.create(
        service=service,
        number=number,
        time_limit_days=spec["time_limit_days"],
        eligibility=spec["eligibility"],
        route={"steps": spec["route"]},
    )
    for order, field in enumerate(spec["fields"]):
        FormField.objects.create(
            version=version,
            element=elements[field["key"]],
            section_en=field["section"][0],
            section_zh=field["section"][1],
            required=field["required"],
            when=field["when"],
            order=order,
        )
    for order, (code, required, when) in enumerate(spec["materials"]):
        MaterialRequirement.objects.create(
            version=version, document_type=types[code], required=required, when=when, order=order
        )
    for (label_en, label_zh), amount in spec["fees"]:
        Fee.objects.create(version=version, label_en=label_en, label_zh=label_zh, amount=amount)
    try:
        version_publish(version=version, actor=None)
    except PublishRefused as refused:
        raise RuntimeError(
            f"demo service {spec['code']} does not pass publish validation: {refused.messages}"
        ) from None
    return service


@transaction.atomic
def seed_catalogue() -> list[str]:
    """Seeds the demo catalogue (departments must exist: accounts.demo.seed_departments)."""
    missing = _missing_handlers()
    if missing:
        raise RuntimeError(
            "The demo catalogue needs the department handlers "
            + ", ".join(missing)
            + " (workflows/engine/handlers.py, registered when the workflows app loads). "
            "They are not registered, so nothing was seeded."
        )
    elements = _seed_elements()
    types = _seed_document_types()
    services = {spec["code"]: _seed_service(spec, elements, types) for spec in SERVICES}
    for spec in LIFE_EVENTS:
        life_event, created = LifeEvent.objects.update_or_create(
            code=spec["code"],
            defaults={
                "name_en": spec["name"][0],
                "name_zh": spec["name"][1],
                "summary_en": spec["summary"][0],
                "summary_zh": spec["summary"][1],
            },
        )
        if created:
            catalogue_change_record(actor=None, obj=life_event, action=CatalogueChange.Action.CREATED)
        for order, code in enumerate(spec["services"]):
            LifeEventService.objects.update_or_create(
                life_event=life_event, service=services[code], defaults={"order": order}
            )
    return [
        f"Catalogue: {len(services)} services, {len(LIFE_EVENTS)} life events, "
        f"{len(elements)} data elements, {len(types)} document types"
    ]
