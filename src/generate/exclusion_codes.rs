//! Codes of the life events that take people out of eCQM denominators. Each is taken from the
//! value set the measures' exclusion logic retrieves by (OID noted per constant), so the
//! exclusions of CMS165 and CMS125 find them.

use super::codes::{Code, CPT, HCPCS, ICD10CM, SNOMED};

const fn c(system: &'static str, code: &'static str, display: &'static str) -> Code {
    Code {
        system,
        code,
        display,
    }
}

// ---- Hospice (Hospice library) ---------------------------------------------------------------

/// Hospice Encounter (2.16.840.1.113883.3.464.1003.1003).
pub(crate) const HOSPICE_ADMISSION: [Code; 2] = [
    c(
        SNOMED,
        "183920000",
        "Routine admission to hospice (procedure)",
    ),
    c(
        HCPCS,
        "Q5010",
        "Hospice home care provided in a hospice facility",
    ),
];
/// Hospice Care Ambulatory (2.16.840.1.113883.3.526.3.1584): the order and the care given.
pub(crate) const HOSPICE_CARE: Code = c(SNOMED, "385763009", "Hospice care (regime/therapy)");
/// Hospice Diagnosis (…1165): the problem-list entry while under hospice care.
pub(crate) const HOSPICE_STATUS: Code = c(SNOMED, "170935008", "Full care by hospice (finding)");

// ---- Palliative care (PalliativeCare library) -----------------------------------------------

/// Palliative Care Encounter (…101.12.1090).
pub(crate) const PALLIATIVE_CONSULT: Code = c(
    SNOMED,
    "713281006",
    "Consultation for palliative care (procedure)",
);
/// Palliative Care Diagnosis (…1167).
pub(crate) const PALLIATIVE_DIAGNOSIS: [Code; 2] = [
    c(
        SNOMED,
        "305686008",
        "Seen by palliative care physician (finding)",
    ),
    c(ICD10CM, "Z51.5", "Encounter for palliative care"),
];
/// Palliative Care Intervention (…198.12.1135).
pub(crate) const PALLIATIVE_CARE: Code = c(SNOMED, "103735009", "Palliative care (regime/therapy)");

// ---- Advanced illness and frailty (AdvancedIllnessandFrailty library) -----------------------

/// Advanced Illness (…110.12.1082).
pub(crate) const ADVANCED_ILLNESS: [[Code; 2]; 3] = [
    [
        c(SNOMED, "26929004", "Alzheimer's disease (disorder)"),
        c(ICD10CM, "G30.9", "Alzheimer's disease, unspecified"),
    ],
    [
        c(SNOMED, "42343007", "Congestive heart failure (disorder)"),
        c(
            ICD10CM,
            "I50.22",
            "Chronic systolic (congestive) heart failure",
        ),
    ],
    [
        c(SNOMED, "52448006", "Dementia (disorder)"),
        c(
            ICD10CM,
            "F03.90",
            "Unspecified dementia, unspecified severity, without behavioral disturbance, psychotic disturbance, mood disturbance, and anxiety",
        ),
    ],
];
/// Frailty Diagnosis (…113.12.1074).
pub(crate) const FRAILTY_DIAGNOSIS: [Code; 1] = [c(ICD10CM, "Z99.3", "Dependence on wheelchair")];
/// Frailty Device (…118.12.1300).
pub(crate) const WHEELCHAIR: Code = c(SNOMED, "58938008", "Wheelchair device (physical object)");

// ---- Renal and pregnancy (CMS165) -----------------------------------------------------------

/// End Stage Renal Disease (2.16.840.1.113883.3.526.3.353).
pub(crate) const ESRD: [Code; 2] = [
    c(SNOMED, "46177005", "End-stage renal disease (disorder)"),
    c(ICD10CM, "N18.6", "End stage renal disease"),
];
/// Dialysis Services (…109.12.1013).
pub(crate) const HEMODIALYSIS: [Code; 2] = [
    c(SNOMED, "302497006", "Hemodialysis (procedure)"),
    c(
        CPT,
        "90935",
        "Hemodialysis procedure with single evaluation by a physician or other qualified health care professional",
    ),
];
/// ESRD Monthly Outpatient Services (…109.12.1014).
pub(crate) const ESRD_MONTHLY: Code = c(
    CPT,
    "90960",
    "End-stage renal disease (ESRD) related services monthly, for patients 20 years of age and older; with 4 or more face-to-face visits by a physician or other qualified health care professional per month",
);
/// Kidney Transplant (…109.12.1012).
pub(crate) const KIDNEY_TRANSPLANT: [Code; 2] = [
    c(SNOMED, "70536003", "Transplant of kidney (procedure)"),
    c(
        CPT,
        "50360",
        "Renal allotransplantation, implantation of graft; without recipient nephrectomy",
    ),
];
/// Kidney Transplant Recipient (…109.12.1029).
pub(crate) const KIDNEY_TRANSPLANT_STATUS: [Code; 1] =
    [c(ICD10CM, "Z94.0", "Kidney transplant status")];
/// Pregnancy (2.16.840.1.113883.3.526.3.378).
pub(crate) const PREGNANCY: [Code; 2] = [
    c(SNOMED, "72892002", "Normal pregnancy (finding)"),
    c(
        ICD10CM,
        "Z34.90",
        "Encounter for supervision of normal pregnancy, unspecified, unspecified trimester",
    ),
];

// ---- Mastectomy (CMS125) --------------------------------------------------------------------

/// Bilateral Mastectomy (…198.12.1005).
pub(crate) const MASTECTOMY_BILATERAL: Code = c(
    SNOMED,
    "22418005",
    "Simple mastectomy of bilateral breasts (procedure)",
);
/// Unilateral Mastectomy Left (…198.12.1133).
pub(crate) const MASTECTOMY_LEFT: Code = c(
    SNOMED,
    "741009001",
    "Simple mastectomy of left breast (procedure)",
);
/// Unilateral Mastectomy Right (…198.12.1134).
pub(crate) const MASTECTOMY_RIGHT: Code = c(
    SNOMED,
    "741010006",
    "Simple mastectomy of right breast (procedure)",
);
/// History of bilateral mastectomy (…198.12.1068).
pub(crate) const HISTORY_BILATERAL: [Code; 2] = [
    c(
        SNOMED,
        "428529004",
        "History of bilateral mastectomy (situation)",
    ),
    c(
        ICD10CM,
        "Z90.13",
        "Acquired absence of bilateral breasts and nipples",
    ),
];
/// Status Post Left Mastectomy (…198.12.1069).
pub(crate) const HISTORY_LEFT: [Code; 2] = [
    c(
        SNOMED,
        "429009003",
        "History of left mastectomy (situation)",
    ),
    c(
        ICD10CM,
        "Z90.12",
        "Acquired absence of left breast and nipple",
    ),
];
/// Status Post Right Mastectomy (…198.12.1070).
pub(crate) const HISTORY_RIGHT: [Code; 2] = [
    c(
        SNOMED,
        "429242008",
        "History of right mastectomy (situation)",
    ),
    c(
        ICD10CM,
        "Z90.11",
        "Acquired absence of right breast and nipple",
    ),
];
