//! A small UCUM canonicaliser for quantity search: converts a value and unit to base units
//! (g, m, s, mol, K, eq, [IU]) so `5.5 mmol/L` and `5500 umol/L`, or `100 mg/dL` and `1 g/L`,
//! index to the same canonical value. Covers prefixes, exponents, `.` and `/`, `10*n` factors,
//! annotations, and the common clinical atoms; anything else is simply not canonicalised.
//! Mass and amount of substance are different dimensions, so mg/dL never converts to mmol/L.

/// Dimension exponents in the order of [`BASE_UNITS`].
type Dims = [i8; 7];
const BASE_UNITS: [&str; 7] = ["g", "m", "s", "mol", "K", "eq", "[IU]"];

/// A value in canonical base units.
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    pub value: f64,
    /// The base-unit expression, e.g. `g.m-3`, `s-1`, `K`, `1`.
    pub unit: String,
}

const M: Dims = [1, 0, 0, 0, 0, 0, 0];
const L: Dims = [0, 1, 0, 0, 0, 0, 0];
const T: Dims = [0, 0, 1, 0, 0, 0, 0];
const N: Dims = [0, 0, 0, 1, 0, 0, 0];
const TEMP: Dims = [0, 0, 0, 0, 1, 0, 0];
const EQ: Dims = [0, 0, 0, 0, 0, 1, 0];
const IU: Dims = [0, 0, 0, 0, 0, 0, 1];
const ONE: Dims = [0; 7];
const VOL: Dims = [0, 3, 0, 0, 0, 0, 0];
/// Pressure, energy and power in g, m, s.
const PRESSURE: Dims = [1, -1, -2, 0, 0, 0, 0];
const ENERGY: Dims = [1, 2, -2, 0, 0, 0, 0];
const POWER: Dims = [1, 2, -3, 0, 0, 0, 0];
const CATALYTIC: Dims = [0, 0, -1, 1, 0, 0, 0];

/// Atoms: code, factor to base units, dimensions, whether metric prefixes apply.
const ATOMS: &[(&str, f64, Dims, bool)] = &[
    ("g", 1.0, M, true),
    ("m", 1.0, L, true),
    ("s", 1.0, T, true),
    ("mol", 1.0, N, true),
    ("K", 1.0, TEMP, true),
    ("eq", 1.0, EQ, true),
    ("osm", 1.0, N, true),
    ("[IU]", 1.0, IU, true),
    ("[iU]", 1.0, IU, true),
    ("L", 1e-3, VOL, true),
    ("l", 1e-3, VOL, true),
    ("min", 60.0, T, false),
    ("h", 3600.0, T, false),
    ("d", 86_400.0, T, false),
    ("wk", 604_800.0, T, false),
    ("mo", 2_629_800.0, T, false),
    ("a", 31_557_600.0, T, false),
    ("Hz", 1.0, [0, 0, -1, 0, 0, 0, 0], true),
    ("Pa", 1000.0, PRESSURE, true),
    ("bar", 1e8, PRESSURE, true),
    ("m[Hg]", 133_322_000.0, PRESSURE, true),
    ("m[H2O]", 9_806_650.0, PRESSURE, true),
    ("J", 1000.0, ENERGY, true),
    ("cal", 4184.0, ENERGY, true),
    ("[Cal]", 4_184_000.0, ENERGY, false),
    ("W", 1000.0, POWER, true),
    ("U", 1e-6 / 60.0, CATALYTIC, true),
    ("kat", 1.0, CATALYTIC, true),
    ("[in_i]", 0.0254, L, false),
    ("[ft_i]", 0.3048, L, false),
    ("[yd_i]", 0.9144, L, false),
    ("[mi_i]", 1609.344, L, false),
    ("[lb_av]", 453.592_37, M, false),
    ("[oz_av]", 28.349_523_125, M, false),
    ("[gr]", 0.064_798_91, M, false),
    ("t", 1e6, M, true),
    ("%", 0.01, ONE, false),
    ("[ppm]", 1e-6, ONE, false),
    ("[ppb]", 1e-9, ONE, false),
    ("[ppth]", 1e-3, ONE, false),
    ("[pi]", std::f64::consts::PI, ONE, false),
];

const PREFIXES: &[(&str, f64)] = &[
    ("da", 1e1),
    ("Y", 1e24),
    ("Z", 1e21),
    ("E", 1e18),
    ("P", 1e15),
    ("T", 1e12),
    ("G", 1e9),
    ("M", 1e6),
    ("k", 1e3),
    ("h", 1e2),
    ("d", 1e-1),
    ("c", 1e-2),
    ("m", 1e-3),
    ("u", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
    ("a", 1e-18),
];

/// Converts `value unit` to canonical base units, or `None` when the unit is not understood.
pub fn canonicalize(value: f64, unit: &str) -> Option<Canonical> {
    let unit = unit.trim();
    // UCUM codes are ASCII; this also keeps the byte-wise parsing below on char boundaries.
    if !unit.is_ascii() {
        return None;
    }
    // Temperatures on offset scales only convert on their own, not inside compound units.
    let kelvin = match unit {
        "Cel" => Some(value + 273.15),
        "[degF]" => Some((value - 32.0) * 5.0 / 9.0 + 273.15),
        _ => None,
    };
    if let Some(k) = kelvin {
        return Some(Canonical {
            value: k,
            unit: "K".into(),
        });
    }
    let (factor, dims) = parse_unit(unit)?;
    let value = value * factor;
    value.is_finite().then(|| Canonical {
        value: round_sig(value),
        unit: format_dims(&dims),
    })
}

/// Parses a unit term: components joined by `.` (multiply) and `/` (divide), left to right.
fn parse_unit(unit: &str) -> Option<(f64, Dims)> {
    if unit.is_empty() || unit.contains(['(', ')', ' ']) {
        return None;
    }
    let mut factor = 1.0;
    let mut dims = ONE;
    let mut sign = 1;
    let mut start = 0;
    let bytes = unit.as_bytes();
    let mut depth = 0;
    for i in 0..=bytes.len() {
        let c = bytes.get(i).copied();
        match c {
            Some(b'[' | b'{') => depth += 1,
            Some(b']' | b'}') => depth -= 1,
            _ => {}
        }
        let at_operator = matches!(c, Some(b'.' | b'/')) && depth == 0;
        if !(at_operator || c.is_none()) {
            continue;
        }
        let part = &unit[start..i];
        if !(part.is_empty() && start == 0 && c == Some(b'/')) {
            let (f, d) = parse_component(part)?;
            factor *= if sign > 0 { f } else { 1.0 / f };
            for (acc, x) in dims.iter_mut().zip(d) {
                *acc = acc.checked_add(x.checked_mul(sign)?)?;
            }
        }
        sign = if c == Some(b'/') { -1 } else { 1 };
        start = i + 1;
    }
    Some((factor, dims))
}

/// One component: `{annotation}`, `10*3`, an integer, or prefix + atom + exponent (+ annotation).
fn parse_component(part: &str) -> Option<(f64, Dims)> {
    // Annotations carry no meaning for conversion: `{beats}/min`, `mL/min/{1.73_m2}`.
    let part = match part.find('{') {
        Some(i) if part.ends_with('}') => &part[..i],
        Some(_) => return None,
        None => part,
    };
    if part.is_empty() {
        return Some((1.0, ONE));
    }
    if let Some(exp) = part
        .strip_prefix("10*")
        .or_else(|| part.strip_prefix("10^"))
    {
        let exp: i32 = exp.parse().ok()?;
        return Some((10f64.powi(exp), ONE));
    }
    if part.bytes().all(|b| b.is_ascii_digit()) {
        return Some((part.parse().ok()?, ONE));
    }
    // Split a trailing signed exponent, unless it belongs to a bracketed atom.
    let digits_at = part
        .rfind(|c: char| !(c.is_ascii_digit() || c == '-' || c == '+'))
        .map_or(0, |i| i + 1);
    let (symbol, exp) = if digits_at < part.len() && !part.ends_with(']') {
        (&part[..digits_at], part[digits_at..].parse::<i8>().ok()?)
    } else {
        (part, 1)
    };
    let (factor, dims) = atom_with_prefix(symbol)?;
    let mut out = ONE;
    for (o, d) in out.iter_mut().zip(dims) {
        *o = d.checked_mul(exp)?;
    }
    Some((factor.powi(i32::from(exp)), out))
}

fn atom_with_prefix(symbol: &str) -> Option<(f64, Dims)> {
    if let Some((_, f, d, _)) = ATOMS.iter().find(|(code, ..)| *code == symbol) {
        return Some((*f, *d));
    }
    PREFIXES.iter().find_map(|(prefix, pf)| {
        let rest = symbol.strip_prefix(prefix)?;
        ATOMS
            .iter()
            .find(|(code, _, _, metric)| *metric && *code == rest)
            .map(|(_, f, d, _)| (pf * f, *d))
    })
}

fn format_dims(dims: &Dims) -> String {
    let parts: Vec<String> = BASE_UNITS
        .iter()
        .zip(dims)
        .filter(|(_, e)| **e != 0)
        .map(|(u, e)| {
            if *e == 1 {
                (*u).to_owned()
            } else {
                format!("{u}{e}")
            }
        })
        .collect();
    if parts.is_empty() {
        "1".into()
    } else {
        parts.join(".")
    }
}

/// Rounds to 12 significant digits so that conversions of equal quantities compare equal
/// (`100 mg/dL` and `1 g/L` both become exactly `1000 g.m-3`).
fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let magnitude = v.abs().log10().floor() as i32;
    let scale = 10f64.powi(11 - magnitude);
    if !scale.is_finite() || scale == 0.0 {
        return v;
    }
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(value: f64, unit: &str) -> (f64, String) {
        let c = canonicalize(value, unit).unwrap_or_else(|| panic!("{unit} not understood"));
        (c.value, c.unit)
    }

    #[test]
    fn mass_concentrations_convert() {
        assert_eq!(canon(100.0, "mg/dL"), (1000.0, "g.m-3".into()));
        assert_eq!(canon(1.0, "g/L"), (1000.0, "g.m-3".into()));
        assert_eq!(canon(100.0, "mg/dL"), canon(1.0, "g/L"));
    }

    #[test]
    fn substance_concentrations_convert_only_among_themselves() {
        assert_eq!(canon(5.5, "mmol/L"), canon(5500.0, "umol/L"));
        assert_eq!(canon(5.5, "mmol/L").1, "m-3.mol");
        assert_ne!(canon(5.5, "mmol/L").1, canon(100.0, "mg/dL").1);
    }

    #[test]
    fn lengths_masses_and_temperatures() {
        assert_eq!(canon(170.0, "cm"), (1.7, "m".into()));
        assert_eq!(canon(1.0, "[in_i]"), (0.0254, "m".into()));
        assert_eq!(canon(1.0, "kg"), canon(1000.0, "g"));
        assert_eq!(canon(1.0, "[lb_av]"), (453.59237, "g".into()));
        assert_eq!(canon(37.0, "Cel"), (310.15, "K".into()));
        let f = canon(98.6, "[degF]");
        assert!((f.0 - 310.15).abs() < 1e-9 && f.1 == "K");
    }

    #[test]
    fn compound_units_annotations_and_factors() {
        assert_eq!(canon(60.0, "/min"), (1.0, "s-1".into()));
        assert_eq!(canon(72.0, "{beats}/min"), canon(72.0, "/min"));
        assert_eq!(canon(25.0, "kg/m2"), (25000.0, "g.m-2".into()));
        assert_eq!(canon(4.5, "10*9/L"), (4.5e12, "m-3".into()));
        assert_eq!(canon(120.0, "mm[Hg]").1, "g.m-1.s-2");
        assert_eq!(canon(90.0, "mL/min/{1.73_m2}").1, "m3.s-1");
        assert_eq!(canon(50.0, "%"), (0.5, "1".into()));
        assert_eq!(canon(3.0, "[IU]/L"), canon(3.0, "m[IU]/mL"));
    }

    #[test]
    fn unknown_units_are_not_converted() {
        for unit in [
            "",
            "tablets",
            "mg/dL(",
            "[foo]",
            "mg per dL",
            "m99999",
            "mµ2",
            "µg",
        ] {
            assert!(canonicalize(1.0, unit).is_none(), "{unit}");
        }
    }
}
