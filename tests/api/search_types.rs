//! Search by parameter type and modifier, each with the exact expected result set.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::search_support::{ids, names, observation, put_all};

const LOINC: &str = "http://loinc.org";

#[tokio::test]
async fn token_systems_and_modifiers() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            observation("a", "Patient/p1", (LOINC, "4548-4"), json!({})),
            observation("b", "Patient/p1", ("http://other.org", "4548-4"), json!({})),
            observation(
                "c",
                "Patient/p1",
                (LOINC, "718-7"),
                json!({"code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hémoglobin"}]}}),
            ),
            json!({"resourceType": "Observation", "id": "d", "status": "final",
                   "code": {"coding": [{"code": "4548-4"}]}}),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?code=4548-4").await,
        names(&["a", "b", "d"])
    );
    assert_eq!(
        ids(&app, "Observation?code=http://loinc.org|4548-4").await,
        names(&["a"])
    );
    assert_eq!(ids(&app, "Observation?code=|4548-4").await, names(&["d"]));
    assert_eq!(
        ids(&app, "Observation?code=http://loinc.org|").await,
        names(&["a", "c"])
    );
    assert_eq!(
        ids(&app, "Observation?code:not=4548-4").await,
        names(&["c"])
    );
    assert_eq!(ids(&app, "Observation?code:text=hemo").await, names(&["c"]));
    assert_eq!(
        ids(&app, "Observation?subject:missing=true").await,
        names(&["d"])
    );
    assert_eq!(
        ids(&app, "Observation?subject:missing=false").await,
        names(&["a", "b", "c"])
    );
    // OR with commas, AND with repeated parameters.
    assert_eq!(
        ids(&app, "Observation?code=718-7,http://other.org|4548-4").await,
        names(&["b", "c"])
    );
    assert_eq!(
        ids(&app, "Observation?code=4548-4&code=http://loinc.org|4548-4").await,
        names(&["a"])
    );
    assert_eq!(
        ids(&app, "Observation?_id=a,c,zz").await,
        names(&["a", "c"])
    );
}

#[tokio::test]
async fn string_default_exact_and_contains() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Élodie"}]}),
            json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Elliot"}]}),
            json!({"resourceType": "Patient", "id": "p3", "name": [{"family": "Bell", "given": ["Ann"]}]}),
        ],
    )
    .await;
    assert_eq!(ids(&app, "Patient?name=el").await, names(&["p1", "p2"]));
    assert_eq!(ids(&app, "Patient?family=ELO").await, names(&["p1"]));
    assert_eq!(ids(&app, "Patient?name:exact=Elliot").await, names(&["p2"]));
    assert_eq!(ids(&app, "Patient?name:exact=elliot").await, names(&[]));
    assert_eq!(
        ids(&app, "Patient?name:contains=ll").await,
        names(&["p2", "p3"])
    );
    assert_eq!(ids(&app, "Patient?given=ann").await, names(&["p3"]));
}

#[tokio::test]
async fn date_precision_of_both_sides() {
    let app = spawn_app().await;
    let at = |id: &str, when: &str| {
        observation(
            id,
            "Patient/p1",
            (LOINC, "1"),
            json!({"effectiveDateTime": when}),
        )
    };
    put_all(
        &app,
        &[
            at("a", "2025-03-01T10:00:00+02:00"),
            at("b", "2025-03-15"),
            at("c", "2025-06"),
            at("d", "2024-12-31"),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?date=2025").await,
        names(&["a", "b", "c"])
    );
    assert_eq!(
        ids(&app, "Observation?date=2025-03").await,
        names(&["a", "b"])
    );
    assert_eq!(
        ids(&app, "Observation?date=2025-03-01").await,
        names(&["a"])
    );
    assert_eq!(
        ids(&app, "Observation?date=ge2025-03-02").await,
        names(&["b", "c"])
    );
    assert_eq!(
        ids(&app, "Observation?date=lt2025-03-01T09:00:00Z").await,
        names(&["a", "d"])
    );
    // 10:00+02:00 is 08:00Z: not after 08:30Z.
    assert_eq!(
        ids(&app, "Observation?date=gt2025-03-01T08:30:00Z").await,
        names(&["b", "c"])
    );
    assert_eq!(ids(&app, "Observation?date=sa2025-03").await, names(&["c"]));
    assert_eq!(ids(&app, "Observation?date=eb2025").await, names(&["d"]));
    assert_eq!(ids(&app, "Observation?date=ne2025").await, names(&["d"]));
    assert_eq!(
        ids(&app, "Observation?date=ge2025-01-01&date=le2025-03-31").await,
        names(&["a", "b"])
    );
}

#[tokio::test]
async fn references_by_type_id_and_chain() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Ann"}]}),
            json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Bob"}]}),
            json!({"resourceType": "Group", "id": "p1", "type": "person", "actual": true}),
            observation("a", "Patient/p1", (LOINC, "1"), json!({})),
            observation("b", "Patient/p2", (LOINC, "1"), json!({})),
            observation("c", "Group/p1", (LOINC, "1"), json!({})),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Observation?subject=Patient/p1").await,
        names(&["a"])
    );
    assert_eq!(
        ids(&app, "Observation?subject=p1").await,
        names(&["a", "c"])
    );
    assert_eq!(
        ids(&app, "Observation?subject:Group=p1").await,
        names(&["c"])
    );
    assert_eq!(ids(&app, "Observation?patient=p2").await, names(&["b"]));
    assert_eq!(
        ids(&app, "Observation?subject:Patient.name=bo").await,
        names(&["b"])
    );
    assert_eq!(
        ids(&app, "Observation?patient.name=ann").await,
        names(&["a"])
    );
}

#[tokio::test]
async fn quantities_compare_in_canonical_ucum_units() {
    let app = spawn_app().await;
    let q = |id: &str, value: f64, unit: &str| {
        observation(
            id,
            "Patient/p1",
            (LOINC, "2345-7"),
            json!({"valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit, "unit": unit}}),
        )
    };
    put_all(
        &app,
        &[
            q("a", 180.0, "mg/dL"),
            q("b", 1.5, "g/L"),
            q("c", 200.0, "mg/dL"),
        ],
    )
    .await;
    let ucum = "http://unitsofmeasure.org";
    assert_eq!(
        ids(&app, &format!("Observation?value-quantity=1.8|{ucum}|g/L")).await,
        names(&["a"])
    );
    assert_eq!(
        ids(
            &app,
            &format!("Observation?value-quantity=gt1.6|{ucum}|g/L")
        )
        .await,
        names(&["a", "c"])
    );
    assert_eq!(
        ids(
            &app,
            &format!("Observation?value-quantity=lt170|{ucum}|mg/dL")
        )
        .await,
        names(&["b"])
    );
    assert_eq!(
        ids(&app, "Observation?value-quantity=200").await,
        names(&["c"])
    );
}

#[tokio::test]
async fn numbers_uris_and_composites() {
    let app = spawn_app().await;
    let risk = |id: &str, p: f64| {
        json!({"resourceType": "RiskAssessment", "id": id, "status": "final",
               "subject": {"reference": "Patient/p1"},
               "prediction": [{"probabilityDecimal": p}]})
    };
    let vs = |id: &str, url: &str| json!({"resourceType": "ValueSet", "id": id, "status": "active", "url": url});
    let bp = |id: &str, systolic: f64| {
        observation(
            id,
            "Patient/p1",
            (LOINC, "85354-9"),
            json!({"component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": {"value": systolic, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}),
        )
    };
    put_all(
        &app,
        &[
            risk("r1", 0.2),
            risk("r2", 0.3),
            vs("v1", "http://x.org/vs/a"),
            vs("v2", "http://x.org/vs/b"),
            vs("v3", "http://y.org/vs"),
            bp("o1", 120.0),
            bp("o2", 145.0),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "RiskAssessment?probability=0.3").await,
        names(&["r2"])
    );
    // 0.25 would be inside the implicit range of 0.3 ([0.25, 0.35)); 0.30 is narrower.
    assert_eq!(
        ids(&app, "RiskAssessment?probability=0.30").await,
        names(&["r2"])
    );
    assert_eq!(
        ids(&app, "RiskAssessment?probability=gt0.1").await,
        names(&["r1", "r2"])
    );
    assert_eq!(
        ids(&app, "RiskAssessment?probability=le0.2").await,
        names(&["r1"])
    );
    assert_eq!(
        ids(&app, "ValueSet?url=http://x.org/vs/a").await,
        names(&["v1"])
    );
    assert_eq!(
        ids(&app, "ValueSet?url:below=http://x.org/vs").await,
        names(&["v1", "v2"])
    );
    assert_eq!(
        ids(&app, "ValueSet?url:above=http://x.org/vs/a/v2").await,
        names(&["v1"])
    );
    assert_eq!(
        ids(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt130|http://unitsofmeasure.org|mm[Hg]"
        )
        .await,
        names(&["o2"])
    );
}

#[tokio::test]
async fn reverse_chaining_with_has() {
    let app = spawn_app().await;
    put_all(
        &app,
        &[
            json!({"resourceType": "Patient", "id": "p1"}),
            json!({"resourceType": "Patient", "id": "p2"}),
            json!({"resourceType": "Patient", "id": "p3"}),
            observation("a", "Patient/p1", (LOINC, "4548-4"), json!({})),
            observation("b", "Patient/p2", (LOINC, "718-7"), json!({})),
            json!({"resourceType": "Provenance", "id": "prov", "recorded": "2025-01-01T00:00:00Z",
                   "target": [{"reference": "Observation/b"}],
                   "agent": [{"who": {"reference": "Practitioner/x"}}]}),
        ],
    )
    .await;
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=4548-4").await,
        names(&["p1"])
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:subject:code=4548-4,718-7").await,
        names(&["p1", "p2"])
    );
    assert_eq!(
        ids(
            &app,
            "Patient?_has:Observation:patient:_has:Provenance:target:agent=Practitioner/x"
        )
        .await,
        names(&["p2"])
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=0").await,
        names(&[])
    );
}
