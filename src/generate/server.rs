//! Loading a population straight into a FHIR server: the directory Bundle first, then each
//! person's transaction Bundles POSTed to the base URL. A person's Bundles go in order (later
//! ones refer to resources earlier ones created); persons go `concurrency` at a time.
//! Generation runs on a blocking thread feeding a bounded channel, so memory stays flat.

use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use tokio::sync::mpsc;

use super::{GenerateError, Population};

const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    pub persons: u64,
    pub bundles: u64,
    pub bytes: u64,
}

/// POSTs every Bundle of the population to `base_url` (the FHIR base, e.g.
/// `http://localhost:8080/fhir`). Stops at the first Bundle the server does not accept.
pub async fn load(
    population: &Population,
    client: &reqwest::Client,
    base_url: &str,
    concurrency: usize,
) -> Result<LoadSummary, GenerateError> {
    let base = base_url.trim_end_matches('/').to_owned();
    let concurrency = concurrency.max(1);
    let directory = serde_json::to_vec(&population.directory_bundle())?;
    let mut summary = LoadSummary {
        bundles: 1,
        bytes: directory.len() as u64,
        ..LoadSummary::default()
    };
    post(client, &base, directory).await?;

    let (sender, receiver) = mpsc::channel::<Result<Vec<Vec<u8>>, GenerateError>>(concurrency * 2);
    let config = population.config().clone();
    let producer = tokio::task::spawn_blocking(move || {
        let population = match Population::new(config) {
            Ok(population) => population,
            Err(error) => {
                // The receiver reports the error; if it is gone there is no one to tell.
                let _ = sender.blocking_send(Err(error));
                return;
            }
        };
        for output in population.patients() {
            let bundles: Result<Vec<Vec<u8>>, GenerateError> = output
                .batches
                .iter()
                .map(|batch| {
                    let mut bytes = Vec::with_capacity(8 << 10);
                    batch.write_bundle(&mut bytes)?;
                    Ok(bytes)
                })
                .collect();
            if sender.blocking_send(bundles).is_err() {
                return;
            }
        }
    });

    let persons = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let loaded = persons
        .map(|bundles| {
            let base = base.clone();
            async move {
                let bundles = bundles?;
                let mut person = LoadSummary {
                    persons: 1,
                    ..LoadSummary::default()
                };
                for bundle in bundles {
                    person.bundles += 1;
                    person.bytes += bundle.len() as u64;
                    post(client, &base, bundle).await?;
                }
                Ok::<LoadSummary, GenerateError>(person)
            }
        })
        .buffer_unordered(concurrency)
        .try_fold(summary.clone(), |mut total, person| async move {
            total.persons += person.persons;
            total.bundles += person.bundles;
            total.bytes += person.bytes;
            Ok(total)
        })
        .await;
    // On error the receiver is dropped with the stream, which stops the producer.
    let loaded = loaded?;
    producer.await.map_err(|_| GenerateError::Stopped)?;
    summary = loaded;
    Ok(summary)
}

async fn post(client: &reqwest::Client, base: &str, body: Vec<u8>) -> Result<(), GenerateError> {
    let response = client
        .post(base)
        .header(CONTENT_TYPE, FHIR_JSON)
        .header(ACCEPT, FHIR_JSON)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        return Err(GenerateError::Rejected {
            status: status.as_u16(),
        });
    }
    Ok(())
}
