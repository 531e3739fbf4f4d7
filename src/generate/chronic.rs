//! The chronic conditions a medical home manages, their prevalence and their treatment.

use super::care::{self, PlanTemplate};
use super::codes::{self, Code, Specialty};
use super::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chronic {
    Hypertension,
    Diabetes,
    Copd,
    Depression,
    Hyperlipidemia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Smoking {
    Never,
    Former,
    Current,
}

impl Smoking {
    pub(crate) fn code(self) -> Code {
        match self {
            Self::Never => codes::NEVER_SMOKER,
            Self::Former => codes::FORMER_SMOKER,
            Self::Current => codes::CURRENT_SMOKER,
        }
    }
}

impl Chronic {
    pub(crate) const ALL: [Chronic; 5] = [
        Self::Hypertension,
        Self::Diabetes,
        Self::Copd,
        Self::Depression,
        Self::Hyperlipidemia,
    ];

    pub(crate) fn codes(self) -> &'static [Code; 2] {
        match self {
            Self::Hypertension => &codes::HYPERTENSION,
            Self::Diabetes => &codes::DIABETES,
            Self::Copd => &codes::COPD,
            Self::Depression => &codes::DEPRESSION,
            Self::Hyperlipidemia => &codes::HYPERLIPIDEMIA,
        }
    }

    /// Goal and plan; hyperlipidemia is managed without a dedicated care plan.
    pub(crate) fn plan(self) -> Option<&'static PlanTemplate> {
        match self {
            Self::Hypertension => Some(&care::HYPERTENSION_PLAN),
            Self::Diabetes => Some(&care::DIABETES_PLAN),
            Self::Copd => Some(&care::COPD_PLAN),
            Self::Depression => Some(&care::DEPRESSION_PLAN),
            Self::Hyperlipidemia => None,
        }
    }

    /// First-line medication and its sig, if the patient is treated.
    pub(crate) fn first_line(self, rng: &mut Rng) -> Option<(Code, &'static str)> {
        const DAILY: &str = "Take 1 tablet by mouth once daily";
        match self {
            Self::Hypertension if rng.chance(0.3) => Some((codes::HCTZ, DAILY)),
            Self::Hypertension => Some((codes::LISINOPRIL, DAILY)),
            Self::Diabetes => Some((
                codes::METFORMIN,
                "Take 1 tablet by mouth once daily with the evening meal",
            )),
            Self::Copd => Some((
                codes::ALBUTEROL,
                "Inhale 2 puffs every 4 to 6 hours as needed for shortness of breath",
            )),
            Self::Depression if rng.chance(0.7) => Some((codes::SERTRALINE, DAILY)),
            Self::Depression => None,
            Self::Hyperlipidemia => Some((
                codes::SIMVASTATIN,
                "Take 1 tablet by mouth once daily in the evening",
            )),
        }
    }

    /// The specialist a primary-care clinician refers this condition to.
    pub(crate) fn specialty(self) -> Specialty {
        match self {
            Self::Hypertension | Self::Hyperlipidemia => codes::CARDIOLOGY,
            Self::Diabetes => codes::ENDOCRINOLOGY,
            Self::Copd => codes::PULMONOLOGY,
            Self::Depression => codes::PSYCHIATRY,
        }
    }

    /// Chance of having the condition by a given age (years) and smoking history, roughly
    /// following US adult prevalence.
    pub(crate) fn prevalence(self, age: i64, female: bool, smoking: Smoking) -> f64 {
        if age < 18 {
            return if self == Self::Depression && age >= 12 {
                0.06
            } else {
                0.0
            };
        }
        match self {
            Self::Hypertension => match age {
                18..=39 => 0.08,
                40..=59 => 0.32,
                60..=74 => 0.55,
                _ => 0.68,
            },
            Self::Diabetes => match age {
                18..=39 => 0.03,
                40..=59 => 0.12,
                _ => 0.22,
            },
            Self::Copd if age < 40 => 0.0,
            Self::Copd => match smoking {
                Smoking::Current => 0.2,
                Smoking::Former => 0.12,
                Smoking::Never => 0.03,
            },
            Self::Depression if female => 0.13,
            Self::Depression => 0.07,
            Self::Hyperlipidemia if age < 40 => 0.05,
            Self::Hyperlipidemia => 0.3,
        }
    }
}
