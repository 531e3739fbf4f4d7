//! Compilation of properties, retrieves and terminology references
//! (value sets, code systems, codes, concepts).

use std::sync::Arc;

use super::compile::{arr, s, Compiler};
use super::compile_tables::{negation_profile, vital_signs_code, QICORE_PROFILES};
use super::model::model;
use super::node::{DateFilter, Node, Retrieve};
use super::value::{Code, Concept, Json, Value};
use super::MeasureError;

impl Compiler<'_> {
    pub(crate) fn property(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let path = s(e, "path").unwrap_or_default();
        let mut node = match (s(e, "scope"), e.get("source")) {
            (Some(scope), _) => Node::Slot(self.lookup(scope)?),
            (None, Some(src)) => self.expr(src)?,
            (None, None) => return Err(self.err("Property without source")),
        };
        for part in path.split('.') {
            node = Node::Property(Box::new(node), Arc::from(part));
        }
        Ok(node)
    }

    pub(crate) fn retrieve(&mut self, e: &Json) -> Result<Node, MeasureError> {
        let data_type = s(e, "dataType").unwrap_or_default();
        let local = data_type.rsplit('}').next().unwrap_or(data_type);
        let resource_type = model()
            .intern(local)
            .filter(|t| model().is_resource(t))
            .ok_or_else(|| self.err(format!("retrieve of unknown type {data_type}")))?;
        if !arr(e, "include").is_empty() {
            return Err(self.err("Retrieve with include"));
        }
        // A retrieve by id or from an include clause needs data the patient's
        // compartment query does not bring; refuse rather than return everything.
        if e.get("id").is_some() || e.get("includedIn").is_some() {
            return Err(self.err("Retrieve by id or from an include clause"));
        }
        if !arr(e, "otherFilter").is_empty() {
            return Err(self.err("Retrieve with otherFilter"));
        }
        // Like cql-exec-fhir, profiles only filter by the data's `meta.profile`
        // when it is trusted; the base resource profile never filters. Vital-signs
        // profiles always filter by the code they fix, which the data shows, and
        // negation profiles by the status or doNotPerform flag they fix.
        let fixed_loinc = s(e, "templateId").and_then(vital_signs_code);
        let negation = s(e, "templateId").and_then(negation_profile);
        let positive_profile = s(e, "templateId")
            .filter(|t| t.starts_with(QICORE_PROFILES) && negation.is_none())
            .map(str::to_owned);
        let profile = s(e, "templateId").filter(|t| {
            self.trust_meta_profile
                && *t != format!("http://hl7.org/fhir/StructureDefinition/{local}")
        });
        // `codes`/`codeProperty` and every `codeFilter` must all match.
        let mut filters: Vec<(Arc<str>, Node)> = Vec::new();
        let top = e
            .get("codes")
            .map(|c| (c, s(e, "codeProperty"), s(e, "codeComparator")));
        let listed = arr(e, "codeFilter").iter().filter_map(|f| {
            f.get("value")
                .map(|v| (v, s(f, "property"), s(f, "comparator")))
        });
        for (codes, property, comparator) in top.into_iter().chain(listed) {
            if let Some(cmp) = comparator {
                if !matches!(cmp, "in" | "~" | "=") {
                    return Err(self.err(format!("Retrieve code comparator {cmp}")));
                }
            }
            let node = self.expr(codes)?;
            filters.push((Arc::from(property.unwrap_or("code")), node));
        }
        let mut dates = Vec::new();
        if let Some(range) = e.get("dateRange") {
            dates.push(DateFilter {
                property: s(e, "dateProperty").map(Arc::from),
                low_property: s(e, "dateLowProperty").map(Arc::from),
                high_property: s(e, "dateHighProperty").map(Arc::from),
                range: self.expr(range)?,
            });
        }
        for f in arr(e, "dateFilter") {
            let Some(range) = f.get("value") else {
                continue;
            };
            dates.push(DateFilter {
                property: s(f, "property").map(Arc::from),
                low_property: s(f, "lowProperty").map(Arc::from),
                high_property: s(f, "highProperty").map(Arc::from),
                range: self.expr(range)?,
            });
        }
        if dates
            .iter()
            .any(|d| d.property.is_none() && d.low_property.is_none() && d.high_property.is_none())
        {
            return Err(self.err("Retrieve date range without a date property"));
        }
        let context = e.get("context").map(|c| self.expr(c)).transpose()?;
        let mut filters = filters.into_iter();
        let (code_property, codes) = match filters.next() {
            Some((p, n)) => (Some(p), Some(n)),
            None => (None, None),
        };
        let mut retrieve = Retrieve {
            resource_type,
            profile: profile.map(str::to_owned),
            fixed_loinc,
            negation,
            positive_profile,
            code_property,
            codes,
            more_codes: filters.collect(),
            dates,
            context,
            fixed: false,
        };
        retrieve.fixed = super::hoist::retrieve_is_fixed(&retrieve);
        Ok(Node::Retrieve(Box::new(retrieve)))
    }

    pub(crate) fn valueset_ref(&self, e: &Json) -> Result<u32, MeasureError> {
        let lib = self.lib_of(e)?;
        let name = s(e, "name").unwrap_or_default();
        let def = arr(self.libs[lib].elm, "valueSets")
            .iter()
            .find(|v| s(v, "name") == Some(name))
            .ok_or_else(|| self.err(format!("unknown value set {name}")))?;
        let url = s(def, "id").unwrap_or_default();
        self.content
            .terminology
            .lookup(url)
            .ok_or_else(|| MeasureError::Content(format!("value set {url} ({name}) is not loaded")))
    }

    fn code_system(
        &self,
        lib: usize,
        name: &str,
    ) -> Result<(Arc<str>, Option<Arc<str>>), MeasureError> {
        let cs = arr(self.libs[lib].elm, "codeSystems")
            .iter()
            .find(|c| s(c, "name") == Some(name))
            .ok_or_else(|| self.err(format!("unknown code system {name}")))?;
        Ok((
            Arc::from(s(cs, "id").unwrap_or_default()),
            s(cs, "version").map(Arc::from),
        ))
    }

    pub(crate) fn code_ref(&self, e: &Json) -> Result<Code, MeasureError> {
        self.code_ref_in(self.cur_lib, e)
    }

    fn code_ref_in(&self, from: usize, e: &Json) -> Result<Code, MeasureError> {
        let lib = self.lib_in(from, e)?;
        let name = s(e, "name").unwrap_or_default();
        let def = arr(self.libs[lib].elm, "codes")
            .iter()
            .find(|c| s(c, "name") == Some(name))
            .ok_or_else(|| self.err(format!("unknown code {name}")))?;
        let cs = def.get("codeSystem").unwrap_or(&Json::Null);
        let cs_lib = self.lib_in(lib, cs)?;
        let (system, version) = self.code_system(cs_lib, s(cs, "name").unwrap_or_default())?;
        Ok(Code {
            code: Arc::from(s(def, "id").unwrap_or_default()),
            system: Some(system),
            version,
            display: s(def, "display").map(Arc::from),
        })
    }

    pub(crate) fn code_literal(&self, e: &Json) -> Result<Code, MeasureError> {
        let sys = e.get("system").unwrap_or(&Json::Null);
        let lib = self.lib_of(sys)?;
        let (system, version) = self.code_system(lib, s(sys, "name").unwrap_or_default())?;
        Ok(Code {
            code: Arc::from(s(e, "code").unwrap_or_default()),
            system: Some(system),
            version,
            display: s(e, "display").map(Arc::from),
        })
    }

    pub(crate) fn concept_ref(&self, e: &Json) -> Result<Value<'static>, MeasureError> {
        let lib = self.lib_of(e)?;
        let name = s(e, "name").unwrap_or_default();
        let def = arr(self.libs[lib].elm, "concepts")
            .iter()
            .find(|c| s(c, "name") == Some(name))
            .ok_or_else(|| self.err(format!("unknown concept {name}")))?;
        let mut codes = Vec::new();
        for c in def
            .get("code")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            codes.push(self.code_ref_in(lib, c)?);
        }
        Ok(Value::Concept(Arc::new(Concept {
            codes,
            display: s(def, "display").map(Arc::from),
        })))
    }
}
