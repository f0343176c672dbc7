//! The port implementations both engines share, generated for each from the SQL of the
//! owners' modules (`log`, `projections`, `scans`, `sessions`, `idempotency`).

/// Implements [`LogStore`](crate::log::store::LogStore) with its
/// [`AppendTx`](crate::log::store::AppendTx),
/// [`ProjectionStore`](crate::projections::store::ProjectionStore),
/// [`ScanStore`](crate::scans::ScanStore), [`SessionStore`](crate::sessions::SessionStore),
/// [`KeyStore`](crate::idempotency::KeyStore), [`WitnessStore`](crate::witnessing::WitnessStore) and [`Database`](super::database::Database) for one engine from
/// the shared SQL, so the two backends cannot drift apart: `engine` names the per-engine
/// module the owners' SQL is compiled into (`sqlite` or `postgres`). The engine module supplies what
/// differs: a store type with `pool` and `circuit` fields (every call runs through the
/// circuit) and an inherent `begin_write()` that starts a
/// transaction holding the write lock, a transaction type with a `tx` field, and the items
/// given under `log` (starting an append, notifications) and `tx` (reading the head under the
/// lock, writing a plan).
macro_rules! impl_store {
    (
        engine: $engine:ident,
        store: $store:ty { $($log_items:tt)* },
        tx: $tx:ty { $($tx_items:tt)* } $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::log::store::LogStore for $store {
            $($log_items)*

            async fn log_head(
                &self,
            ) -> Result<$crate::log::merkle::Frontier, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::log::$engine::log_head(&self.pool).await
                })
                .await
            }

            async fn read_log(
                &self,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::log::$engine::read_log(&self.pool, from, limit).await
                })
                .await
            }

            async fn read_stream(
                &self,
                stream: &str,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::log::$engine::read_stream(&self.pool, stream, from, limit).await
                })
                .await
            }

            async fn read_tiles(
                &self,
                keys: &[(u8, u64)],
            ) -> Result<Vec<$crate::log::records::StoredTile>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::log::$engine::read_tiles(&self.pool, keys).await
                })
                .await
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<$crate::log::records::StoredCheckpoint>, $crate::log::StorageError>
            {
                self.circuit.run(async {
                    $crate::storage::log::$engine::latest_checkpoint(&self.pool).await
                })
                .await
            }

            async fn read_checkpoints(
                &self,
                from_size: u64,
                limit: u32,
            ) -> Result<Vec<$crate::log::records::StoredCheckpoint>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::log::$engine::read_checkpoints(&self.pool, from_size, limit).await
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::projections::store::ProjectionStore for $store {
            async fn projection_position(
                &self,
                name: &str,
            ) -> Result<u64, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::projection_position(&self.pool, name).await
                })
                .await
            }

            async fn commit_projection(
                &self,
                name: &str,
                from: u64,
                to: u64,
                writes: &[$crate::projections::model::ProjectionWrite],
            ) -> Result<bool, $crate::log::StorageError> {
                self.circuit.run(async {
                    let mut tx = self.begin_write().await?;
                    let applied = $crate::storage::projections::$engine::apply_projection(
                        &mut *tx, name, from, to, writes,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(applied)
                })
                .await
            }

            async fn reset_projection(&self, name: &str) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    let mut tx = self.begin_write().await?;
                    $crate::storage::projections::$engine::reset_projection(&mut *tx, name).await?;
                    Ok(tx.commit().await?)
                })
                .await
            }

            async fn event_type_counts(
                &self,
            ) -> Result<Vec<(String, u64)>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::event_type_counts(&self.pool).await
                })
                .await
            }

            async fn token(
                &self,
                token_id: &str,
            ) -> Result<Option<$crate::projections::model::TokenRecord>, $crate::log::StorageError>
            {
                self.circuit.run(async {
                    Ok($crate::storage::projections::$engine::tokens(&self.pool, Some(token_id))
                        .await?
                        .pop())
                })
                .await
            }

            async fn tokens(
                &self,
            ) -> Result<Vec<$crate::projections::model::TokenRecord>, $crate::log::StorageError>
            {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::tokens(&self.pool, None).await
                })
                .await
            }

            async fn issuers(
                &self,
                filter: &$crate::projections::store::IssuerFilter,
            ) -> Result<Vec<$crate::projections::model::IssuerRecord>, $crate::log::StorageError>
            {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::issuers(&self.pool, filter).await
                })
                .await
            }

            async fn issuer_keys(
                &self,
                filter: &$crate::projections::store::KeyFilter,
            ) -> Result<
                Vec<$crate::projections::model::IssuerKeyRecord>,
                $crate::log::StorageError,
            > {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::issuer_keys(&self.pool, filter).await
                })
                .await
            }

            async fn enterprises(
                &self,
                filter: &$crate::projections::store::EnterpriseFilter,
            ) -> Result<
                Vec<$crate::projections::model::EnterpriseRecord>,
                $crate::log::StorageError,
            > {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::enterprises(&self.pool, filter).await
                })
                .await
            }

            async fn certificates(
                &self,
                filter: &$crate::projections::store::CertificateFilter,
            ) -> Result<
                Vec<$crate::projections::model::CertificateRecord>,
                $crate::log::StorageError,
            > {
                self.circuit.run(async {
                    $crate::storage::projections::$engine::certificates(&self.pool, filter).await
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::scans::ScanStore for $store {
            async fn insert_scans(
                &self,
                scans: &[$crate::scans::Scan],
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    let mut tx = self.begin_write().await?;
                    $crate::storage::scans::$engine::insert_scans(&mut *tx, scans).await?;
                    Ok(tx.commit().await?)
                })
                .await
            }

            async fn scans_of(
                &self,
                serials: &[u64],
                since: &str,
                limit: u32,
            ) -> Result<Vec<$crate::scans::StoredScan>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::scans::$engine::scans_of(&self.pool, serials, since, limit)
                        .await
                })
                .await
            }

            async fn scan_days(
                &self,
                serial: u64,
            ) -> Result<Vec<$crate::scans::ScanDay>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::scans::$engine::scan_days(&self.pool, serial).await
                })
                .await
            }

            async fn scan_totals(
                &self,
                from: &str,
                until: &str,
                after: u64,
                limit: u32,
            ) -> Result<Vec<$crate::scans::ScanTotal>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::scans::$engine::scan_totals(&self.pool, from, until, after, limit)
                        .await
                })
                .await
            }

            async fn scan_count(&self) -> Result<u64, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::scans::$engine::scan_count(&self.pool).await
                })
                .await
            }

            async fn add_partitions(
                &self,
                today: time::Date,
            ) -> Result<Vec<String>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::scans::$engine::add_partitions(&self.pool, today).await
                })
                .await
            }

            async fn purge_scans(
                &self,
                before: &str,
            ) -> Result<$crate::scans::Purged, $crate::log::StorageError> {
                self.circuit.run(async {
                    let partitions =
                        $crate::storage::scans::$engine::drop_partitions(&self.pool, before).await?;
                    let mut deleted = 0;
                    loop {
                        let mut tx = self.begin_write().await?;
                        let chunk =
                            $crate::storage::scans::$engine::purge_scans(&mut *tx, before).await?;
                        tx.commit().await?;
                        deleted += chunk;
                        if chunk < $crate::storage::scans::PURGE_CHUNK {
                            return Ok($crate::scans::Purged { partitions, deleted });
                        }
                    }
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::sessions::SessionStore for $store {
            async fn insert_session(
                &self,
                session: &$crate::sessions::StoredSession,
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::sessions::$engine::insert_session(&self.pool, session).await
                })
                .await
            }

            async fn session(
                &self,
                session_sha256: &str,
                now: &str,
            ) -> Result<Option<$crate::sessions::StoredSession>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::sessions::$engine::session(&self.pool, session_sha256, now).await
                })
                .await
            }

            async fn delete_session(
                &self,
                session_sha256: &str,
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::sessions::$engine::delete_session(&self.pool, session_sha256)
                        .await
                })
                .await
            }

            async fn purge_sessions(&self, now: &str) -> Result<u64, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::sessions::$engine::purge_sessions(&self.pool, now).await
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::idempotency::KeyStore for $store {
            async fn claim_key(
                &self,
                scope: &str,
                key: &str,
                fingerprint: &str,
                now: &str,
            ) -> Result<Option<$crate::idempotency::StoredKey>, $crate::log::StorageError>
            {
                self.circuit.run(async {
                    $crate::storage::idempotency::$engine::claim_key(
                        &self.pool, scope, key, fingerprint, now,
                    )
                    .await
                })
                .await
            }

            async fn take_over_key(
                &self,
                scope: &str,
                key: &str,
                claimed_at: &str,
                now: &str,
            ) -> Result<bool, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::idempotency::$engine::take_over_key(
                        &self.pool, scope, key, claimed_at, now,
                    )
                    .await
                })
                .await
            }

            async fn record_outcome(
                &self,
                scope: &str,
                key: &str,
                claimed_at: &str,
                outcome: &$crate::idempotency::Outcome,
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::idempotency::$engine::record_outcome(
                        &self.pool, scope, key, claimed_at, outcome,
                    )
                    .await
                })
                .await
            }

            async fn release_key(
                &self,
                scope: &str,
                key: &str,
                claimed_at: &str,
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::idempotency::$engine::release_key(
                        &self.pool, scope, key, claimed_at,
                    )
                    .await
                })
                .await
            }

            async fn purge_keys(&self, before: &str) -> Result<u64, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::idempotency::$engine::purge_keys(&self.pool, before).await
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::witnessing::WitnessStore for $store {
            async fn witnessed(
                &self,
                origin: &str,
            ) -> Result<Option<$crate::witnessing::Witnessed>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::witnessed(&self.pool, origin).await
                })
                .await
            }

            async fn advance_witnessed(
                &self,
                old: u64,
                next: &$crate::witnessing::Witnessed,
            ) -> Result<bool, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::advance_witnessed(&self.pool, old, next)
                        .await
                })
                .await
            }

            async fn add_cosignature(
                &self,
                cosignature: &$crate::witnessing::Cosignature,
            ) -> Result<(), $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::add_cosignature(&self.pool, cosignature)
                        .await
                })
                .await
            }

            async fn cosignatures(
                &self,
                size: u64,
            ) -> Result<Vec<$crate::witnessing::Cosignature>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::cosignatures(&self.pool, size).await
                })
                .await
            }

            async fn last_cosigned(
                &self,
                witness: &str,
            ) -> Result<Option<u64>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::last_cosigned(&self.pool, witness).await
                })
                .await
            }

            async fn newest_cosigned(
                &self,
                quorum: u32,
            ) -> Result<Option<u64>, $crate::log::StorageError> {
                self.circuit.run(async {
                    $crate::storage::witnessing::$engine::newest_cosigned(&self.pool, quorum).await
                })
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::storage::database::Database for $store {
            async fn close(&self) {
                self.pool.close().await;
            }
        }

        #[async_trait::async_trait]
        impl $crate::log::store::AppendTx for $tx {
            $($tx_items)*

            async fn stream_versions(
                &mut self,
                streams: &[&str],
            ) -> Result<std::collections::HashMap<String, u64>, $crate::log::StorageError> {
                $crate::storage::log::$engine::stream_versions(&mut *self.tx, streams).await
            }

            async fn existing(
                &mut self,
                ids: &[uuid::Uuid],
            ) -> Result<
                std::collections::HashMap<uuid::Uuid, $crate::log::commit::Existing>,
                $crate::log::StorageError,
            > {
                $crate::storage::log::$engine::existing(&mut *self.tx, ids).await
            }

            async fn tiles(
                &mut self,
                keys: &[(u8, u64)],
            ) -> Result<Vec<$crate::log::records::StoredTile>, $crate::log::StorageError> {
                $crate::storage::log::$engine::select_tiles(&mut *self.tx, keys).await
            }

            async fn commit(self: Box<Self>) -> Result<(), $crate::log::StorageError> {
                Ok(self.tx.commit().await?)
            }
        }
    };
}
pub(super) use impl_store;
