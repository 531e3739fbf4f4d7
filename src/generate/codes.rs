//! The codes the generator writes. Where an eCQM in the conformance set retrieves by value set,
//! the code is taken from that value set's expansion (noted per constant), so measures evaluated
//! over the generated population see real numerators and denominators.

use serde_json::{json, Value};

pub(crate) const LOINC: &str = "http://loinc.org";
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub(crate) const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub(crate) const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub(crate) const CPT: &str = "http://www.ama-assn.org/go/cpt";
pub(crate) const HCPCS: &str = "http://www.nlm.nih.gov/research/umls/hcpcs";
pub(crate) const UCUM: &str = "http://unitsofmeasure.org";
pub(crate) const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub(crate) const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// One coding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Code {
    pub(crate) system: &'static str,
    pub(crate) code: &'static str,
    pub(crate) display: &'static str,
}

const fn c(system: &'static str, code: &'static str, display: &'static str) -> Code {
    Code {
        system,
        code,
        display,
    }
}

impl Code {
    pub(crate) fn coding(&self) -> Value {
        json!({"system": self.system, "code": self.code, "display": self.display})
    }

    /// CodeableConcept with this coding and the display as text.
    pub(crate) fn concept(&self) -> Value {
        json!({"coding": [self.coding()], "text": self.display})
    }
}

/// CodeableConcept carrying several codings of one idea (e.g. SNOMED CT and ICD-10-CM).
pub(crate) fn concept_of(codes: &[Code], text: &str) -> Value {
    let codings: Vec<Value> = codes.iter().map(Code::coding).collect();
    json!({"coding": codings, "text": text})
}

/// CodeableConcept from a FHIR/HL7 terminology code where display is optional noise.
pub(crate) fn simple(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}]})
}

// ---- Encounter types -----------------------------------------------------------------------

/// Office Visit (2.16.840.1.113883.3.464.1003.101.12.1001): CMS165/CMS125 qualifying encounter,
/// CMS50 encounter during the measurement period.
pub(crate) const OFFICE_VISIT_LOW: Code = c(
    CPT,
    "99213",
    "Office or other outpatient visit, established patient, low complexity",
);
pub(crate) const OFFICE_VISIT_MODERATE: Code = c(
    CPT,
    "99214",
    "Office or other outpatient visit, established patient, moderate complexity",
);
/// New-patient office visit at the consultant, also in Office Visit (…101.12.1001).
pub(crate) const OFFICE_VISIT_NEW: Code = c(
    CPT,
    "99204",
    "Office or other outpatient visit, new patient, moderate complexity",
);
/// Preventive Care Services Established Office Visit, 18 and Up (…101.12.1025).
pub(crate) const PREVENTIVE_18_39: Code = c(
    CPT,
    "99395",
    "Periodic comprehensive preventive medicine, established patient; 18-39 years",
);
pub(crate) const PREVENTIVE_40_64: Code = c(
    CPT,
    "99396",
    "Periodic comprehensive preventive medicine, established patient; 40-64 years",
);
pub(crate) const PREVENTIVE_65_UP: Code = c(
    CPT,
    "99397",
    "Periodic comprehensive preventive medicine, established patient; 65 years and older",
);
/// Preventive Care, Established Office Visit, 0 to 17 (…101.12.1024).
pub(crate) const PREVENTIVE_CHILD: Code = c(CPT, "99393", "Periodic comprehensive preventive medicine, established patient; late childhood (age 5 through 11 years)");
pub(crate) const PREVENTIVE_ADOLESCENT: Code = c(CPT, "99394", "Periodic comprehensive preventive medicine, established patient; adolescent (age 12 through 17 years)");
/// Annual Wellness Visit (2.16.840.1.113883.3.526.3.1240).
pub(crate) const ANNUAL_WELLNESS: Code = c(HCPCS, "G0439", "Annual wellness visit, includes a personalized prevention plan of service (pps), subsequent visit");
/// Emergency Department Evaluation and Management Visit (…101.12.1010).
pub(crate) const ED_VISIT: Code = c(
    CPT,
    "99284",
    "Emergency department visit, moderate level of medical decision making",
);
pub(crate) const ED_VISIT_SCT: Code = c(
    SNOMED,
    "4525004",
    "Emergency department patient visit (procedure)",
);
/// Encounter Inpatient (2.16.840.1.113883.3.666.5.307).
pub(crate) const HOSPITAL_ADMISSION: Code = c(SNOMED, "32485007", "Hospital admission (procedure)");
pub(crate) const EMERGENCY_ADMISSION: Code = c(
    SNOMED,
    "183452005",
    "Emergency hospital admission (procedure)",
);

// ---- Conditions (SNOMED CT with the ICD-10-CM billing code) ---------------------------------

/// Essential Hypertension (…104.12.1011) holds both codes: CMS165 denominator.
pub(crate) const HYPERTENSION: [Code; 2] = [
    c(SNOMED, "59621000", "Essential hypertension (disorder)"),
    c(ICD10CM, "I10", "Essential (primary) hypertension"),
];
pub(crate) const DIABETES: [Code; 2] = [
    c(SNOMED, "44054006", "Diabetes mellitus type 2 (disorder)"),
    c(
        ICD10CM,
        "E11.9",
        "Type 2 diabetes mellitus without complications",
    ),
];
pub(crate) const COPD: [Code; 2] = [
    c(
        SNOMED,
        "13645005",
        "Chronic obstructive lung disease (disorder)",
    ),
    c(
        ICD10CM,
        "J44.9",
        "Chronic obstructive pulmonary disease, unspecified",
    ),
];
pub(crate) const DEPRESSION: [Code; 2] = [
    c(SNOMED, "370143000", "Major depressive disorder (disorder)"),
    c(
        ICD10CM,
        "F32.9",
        "Major depressive disorder, single episode, unspecified",
    ),
];
pub(crate) const HYPERLIPIDEMIA: [Code; 2] = [
    c(SNOMED, "55822004", "Hyperlipidemia (disorder)"),
    c(ICD10CM, "E78.5", "Hyperlipidemia, unspecified"),
];

/// Acute problems seen in the office, the emergency department or on admission.
pub(crate) const ACUTE_OFFICE: [[Code; 2]; 5] = [
    [
        c(SNOMED, "54150009", "Upper respiratory infection (disorder)"),
        c(
            ICD10CM,
            "J06.9",
            "Acute upper respiratory infection, unspecified",
        ),
    ],
    [
        c(SNOMED, "10509002", "Acute bronchitis (disorder)"),
        c(ICD10CM, "J20.9", "Acute bronchitis, unspecified"),
    ],
    [
        c(SNOMED, "36971009", "Sinusitis (disorder)"),
        c(ICD10CM, "J01.90", "Acute sinusitis, unspecified"),
    ],
    [
        c(SNOMED, "279039007", "Low back pain (finding)"),
        c(ICD10CM, "M54.50", "Low back pain, unspecified"),
    ],
    [
        c(
            SNOMED,
            "68566005",
            "Urinary tract infectious disease (disorder)",
        ),
        c(
            ICD10CM,
            "N39.0",
            "Urinary tract infection, site not specified",
        ),
    ],
];
pub(crate) const ACUTE_ED: [[Code; 2]; 4] = [
    [
        c(SNOMED, "29857009", "Chest pain (finding)"),
        c(ICD10CM, "R07.9", "Chest pain, unspecified"),
    ],
    [
        c(SNOMED, "44465007", "Sprain of ankle (disorder)"),
        c(
            ICD10CM,
            "S93.401A",
            "Sprain of unspecified ligament of right ankle, initial encounter",
        ),
    ],
    [
        c(SNOMED, "21522001", "Abdominal pain (finding)"),
        c(ICD10CM, "R10.9", "Unspecified abdominal pain"),
    ],
    [
        c(
            SNOMED,
            "68566005",
            "Urinary tract infectious disease (disorder)",
        ),
        c(
            ICD10CM,
            "N39.0",
            "Urinary tract infection, site not specified",
        ),
    ],
];
pub(crate) const ADMISSION_REASONS: [[Code; 2]; 4] = [
    [
        c(SNOMED, "233604007", "Pneumonia (disorder)"),
        c(ICD10CM, "J18.9", "Pneumonia, unspecified organism"),
    ],
    [
        c(SNOMED, "84114007", "Heart failure (disorder)"),
        c(ICD10CM, "I50.9", "Heart failure, unspecified"),
    ],
    [
        c(
            SNOMED,
            "195951007",
            "Acute exacerbation of chronic obstructive airways disease (disorder)",
        ),
        c(
            ICD10CM,
            "J44.1",
            "Chronic obstructive pulmonary disease with (acute) exacerbation",
        ),
    ],
    [
        c(SNOMED, "91302008", "Sepsis (disorder)"),
        c(ICD10CM, "A41.9", "Sepsis, unspecified organism"),
    ],
];

// ---- Observations ---------------------------------------------------------------------------

/// Blood pressure panel with its components: CMS165 reads the components by these LOINC codes.
pub(crate) const BP_PANEL: Code = c(
    LOINC,
    "85354-9",
    "Blood pressure panel with all children optional",
);
pub(crate) const SYSTOLIC: Code = c(LOINC, "8480-6", "Systolic blood pressure");
pub(crate) const DIASTOLIC: Code = c(LOINC, "8462-4", "Diastolic blood pressure");
pub(crate) const HEART_RATE: Code = c(LOINC, "8867-4", "Heart rate");
pub(crate) const BODY_WEIGHT: Code = c(LOINC, "29463-7", "Body weight");
pub(crate) const BODY_HEIGHT: Code = c(LOINC, "8302-2", "Body height");
pub(crate) const BMI: Code = c(LOINC, "39156-5", "Body mass index (BMI) [Ratio]");
pub(crate) const HBA1C: Code = c(LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood");
pub(crate) const LDL: Code = c(
    LOINC,
    "18262-6",
    "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
);
pub(crate) const PHQ9: Code = c(
    LOINC,
    "44261-6",
    "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
);
/// A laboratory report holding several results.
pub(crate) const LAB_REPORT: Code = c(LOINC, "11502-2", "Laboratory report");
pub(crate) const TOBACCO_STATUS: Code = c(LOINC, "72166-2", "Tobacco smoking status");
pub(crate) const NEVER_SMOKER: Code = c(SNOMED, "266919005", "Never smoked tobacco (finding)");
pub(crate) const FORMER_SMOKER: Code = c(SNOMED, "8517006", "Ex-smoker (finding)");
pub(crate) const CURRENT_SMOKER: Code = c(SNOMED, "449868002", "Smokes tobacco daily (finding)");
/// Mammography (…108.12.1018): CMS125 numerator.
pub(crate) const MAMMOGRAPHY: Code = c(LOINC, "24606-6", "MG Breast Screening");
/// Fecal immunochemical test for occult blood.
pub(crate) const FIT: Code = c(
    LOINC,
    "29771-3",
    "Hemoglobin.gastrointestinal.lower [Presence] in Stool by Immunoassay",
);
pub(crate) const NEGATIVE: Code = c(SNOMED, "260385009", "Negative (qualifier value)");
pub(crate) const POSITIVE: Code = c(SNOMED, "10828004", "Positive (qualifier value)");

// ---- Procedures -----------------------------------------------------------------------------

pub(crate) const COLONOSCOPY: [Code; 2] = [
    c(SNOMED, "73761001", "Colonoscopy (procedure)"),
    c(CPT, "45378", "Colonoscopy, flexible; diagnostic"),
];

// ---- Medications (RxNorm clinical drugs) ----------------------------------------------------

pub(crate) const LISINOPRIL: Code = c(RXNORM, "314076", "lisinopril 10 MG Oral Tablet");
pub(crate) const AMLODIPINE: Code = c(RXNORM, "197361", "amlodipine 5 MG Oral Tablet");
pub(crate) const HCTZ: Code = c(RXNORM, "310798", "hydrochlorothiazide 25 MG Oral Tablet");
pub(crate) const METFORMIN: Code = c(
    RXNORM,
    "860975",
    "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
);
pub(crate) const ALBUTEROL: Code = c(
    RXNORM,
    "745679",
    "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
);
pub(crate) const FLUTICASONE_SALMETEROL: Code = c(RXNORM, "896209", "60 ACTUAT fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler");
pub(crate) const SERTRALINE: Code = c(RXNORM, "312938", "sertraline 100 MG Oral Tablet");
pub(crate) const SIMVASTATIN: Code = c(RXNORM, "312961", "simvastatin 20 MG Oral Tablet");
pub(crate) const AMOXICILLIN: Code = c(RXNORM, "308182", "amoxicillin 250 MG Oral Capsule");
pub(crate) const IBUPROFEN: Code = c(RXNORM, "310965", "ibuprofen 200 MG Oral Tablet");

// ---- Immunizations (CVX) --------------------------------------------------------------------

pub(crate) const FLU_VACCINE: Code = c(
    CVX,
    "150",
    "Influenza, injectable, quadrivalent, preservative free",
);
pub(crate) const TDAP_VACCINE: Code = c(CVX, "115", "Tdap");
pub(crate) const ZOSTER_VACCINE: Code = c(CVX, "187", "zoster vaccine recombinant");
pub(crate) const PNEUMOCOCCAL_VACCINE: Code =
    c(CVX, "33", "pneumococcal polysaccharide vaccine, 23 valent");
pub(crate) const COVID_VACCINE: Code = c(
    CVX,
    "208",
    "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
);

// ---- Referrals (CMS50) ----------------------------------------------------------------------

/// A specialty a primary-care clinician refers to: the referral code comes from Referral
/// (…101.12.1046) and the report code from Consultant Report (…121.12.1006), so CMS50 can match
/// a closed loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Specialty {
    pub(crate) name: &'static str,
    pub(crate) referral: Code,
    pub(crate) report: Code,
}

pub(crate) const CARDIOLOGY: Specialty = Specialty {
    name: "cardiology",
    referral: c(SNOMED, "308471005", "Referral to cardiologist (procedure)"),
    report: c(LOINC, "34099-2", "Cardiology Consult note"),
};
pub(crate) const ENDOCRINOLOGY: Specialty = Specialty {
    name: "endocrinology",
    referral: c(
        SNOMED,
        "306278007",
        "Referral to endocrinologist (procedure)",
    ),
    report: c(LOINC, "34879-7", "Endocrinology Consult note"),
};
pub(crate) const PSYCHIATRY: Specialty = Specialty {
    name: "psychiatry",
    referral: c(SNOMED, "308477009", "Referral to psychiatrist (procedure)"),
    report: c(LOINC, "34788-0", "Psychiatry Consult note"),
};
pub(crate) const PULMONOLOGY: Specialty = Specialty {
    name: "pulmonology",
    referral: c(
        SNOMED,
        "103696004",
        "Patient referral to specialist (procedure)",
    ),
    report: c(LOINC, "34103-2", "Pulmonary Consult note"),
};
pub(crate) const GASTROENTEROLOGY: Specialty = Specialty {
    name: "gastroenterology",
    referral: c(
        SNOMED,
        "308476000",
        "Referral to gastroenterologist (procedure)",
    ),
    report: c(LOINC, "34761-7", "Gastroenterology Consult note"),
};
pub(crate) const ORTHOPEDICS: Specialty = Specialty {
    name: "orthopedics",
    referral: c(
        SNOMED,
        "308481009",
        "Referral to orthopedic surgeon (procedure)",
    ),
    report: c(LOINC, "34814-4", "Orthopaedic surgery Consult note"),
};
pub(crate) const DERMATOLOGY: Specialty = Specialty {
    name: "dermatology",
    referral: c(SNOMED, "308472003", "Referral to dermatologist (procedure)"),
    report: c(LOINC, "34758-3", "Dermatology Consult note"),
};
pub(crate) const SPECIALTIES: [Specialty; 7] = [
    CARDIOLOGY,
    ENDOCRINOLOGY,
    PSYCHIATRY,
    PULMONOLOGY,
    GASTROENTEROLOGY,
    ORTHOPEDICS,
    DERMATOLOGY,
];

// ---- Care coordination ----------------------------------------------------------------------

pub(crate) const PCP_ROLE: Code = c(SNOMED, "446050000", "Primary care physician (occupation)");
pub(crate) const NURSE_ROLE: Code = c(SNOMED, "224535009", "Registered nurse (occupation)");
pub(crate) const PATIENT_ROLE: Code = c(SNOMED, "116154003", "Patient (person)");
pub(crate) const HTN_EDUCATION: Code = c(
    SNOMED,
    "443402002",
    "Lifestyle education regarding hypertension (procedure)",
);
pub(crate) const EXERCISE_EDUCATION: Code = c(
    SNOMED,
    "386463000",
    "Prescribed activity/exercise education (procedure)",
);
pub(crate) const SELF_CARE: Code = c(SNOMED, "384758001", "Self-care interventions (procedure)");
pub(crate) const CBT: Code = c(
    SNOMED,
    "304891004",
    "Cognitive and behavioral therapy (regime/therapy)",
);
