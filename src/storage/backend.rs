//! The [`Store`](super::Store) and [`AppendTx`](super::AppendTx) implementations both
//! engines share, generated for each from the SQL in `common`.

/// Implements [`Store`](super::Store) and [`AppendTx`](super::AppendTx) for one engine from the
/// shared SQL in `common`, so the two backends cannot drift apart. The backend module supplies what
/// differs: a store type with a `pool` field and an inherent `begin_write()` that starts a
/// transaction holding the write lock, a transaction type with a `tx` field, and the items
/// given under `store` (starting an append, notifications) and `tx` (reading the head under
/// the lock, writing a plan).
macro_rules! impl_store {
    (
        engine: $db:ty,
        store: $store:ty { $($store_items:tt)* },
        tx: $tx:ty { $($tx_items:tt)* } $(,)?
    ) => {
        #[async_trait::async_trait]
        impl $crate::storage::Store for $store {
            $($store_items)*

            async fn log_head(
                &self,
            ) -> Result<$crate::log::merkle::Frontier, $crate::storage::StorageError> {
                $crate::storage::common::log_head(&self.pool).await
            }

            async fn read_log(
                &self,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::storage::StorageError> {
                $crate::storage::common::read_log(&self.pool, from, limit).await
            }

            async fn read_stream(
                &self,
                stream: &str,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::log::StoredEvent>, $crate::storage::StorageError> {
                $crate::storage::common::read_stream(&self.pool, stream, from, limit).await
            }

            async fn read_tiles(
                &self,
                keys: &[(u8, u64)],
            ) -> Result<Vec<$crate::storage::StoredTile>, $crate::storage::StorageError> {
                $crate::storage::common::read_tiles(&self.pool, keys).await
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<$crate::storage::StoredCheckpoint>, $crate::storage::StorageError>
            {
                $crate::storage::common::latest_checkpoint(&self.pool).await
            }

            async fn read_checkpoints(
                &self,
                from_size: u64,
                limit: u32,
            ) -> Result<Vec<$crate::storage::StoredCheckpoint>, $crate::storage::StorageError> {
                $crate::storage::common::read_checkpoints(&self.pool, from_size, limit).await
            }

            async fn projection_position(
                &self,
                name: &str,
            ) -> Result<u64, $crate::storage::StorageError> {
                $crate::storage::common::projection_position(&self.pool, name).await
            }

            async fn commit_projection(
                &self,
                name: &str,
                from: u64,
                to: u64,
                writes: &[$crate::projections::ProjectionWrite],
            ) -> Result<bool, $crate::storage::StorageError> {
                let mut tx = self.begin_write().await?;
                let applied = $crate::storage::common::apply_projection::<$db>(
                    &mut *tx, name, from, to, writes,
                )
                .await?;
                tx.commit().await?;
                Ok(applied)
            }

            async fn reset_projection(&self, name: &str) -> Result<(), $crate::storage::StorageError> {
                let mut tx = self.begin_write().await?;
                $crate::storage::common::reset_projection::<$db>(&mut *tx, name).await?;
                Ok(tx.commit().await?)
            }

            async fn event_type_counts(
                &self,
            ) -> Result<Vec<(String, u64)>, $crate::storage::StorageError> {
                $crate::storage::common::event_type_counts(&self.pool).await
            }

            async fn token(
                &self,
                token_id: &str,
            ) -> Result<Option<$crate::access::TokenRecord>, $crate::storage::StorageError> {
                Ok($crate::storage::common::tokens(&self.pool, Some(token_id))
                    .await?
                    .pop())
            }

            async fn tokens(
                &self,
            ) -> Result<Vec<$crate::access::TokenRecord>, $crate::storage::StorageError> {
                $crate::storage::common::tokens(&self.pool, None).await
            }

            async fn issuers(
                &self,
                filter: &$crate::storage::IssuerFilter,
            ) -> Result<
                Vec<$crate::projections::issuers::IssuerRecord>,
                $crate::storage::StorageError,
            > {
                $crate::storage::common::issuers(&self.pool, filter).await
            }

            async fn issuer_keys(
                &self,
                filter: &$crate::storage::KeyFilter,
            ) -> Result<
                Vec<$crate::projections::issuer_keys::IssuerKeyRecord>,
                $crate::storage::StorageError,
            > {
                $crate::storage::common::issuer_keys(&self.pool, filter).await
            }

            async fn enterprises(
                &self,
                filter: &$crate::storage::EnterpriseFilter,
            ) -> Result<
                Vec<$crate::projections::enterprises::EnterpriseRecord>,
                $crate::storage::StorageError,
            > {
                $crate::storage::common::enterprises(&self.pool, filter).await
            }

            async fn certificates(
                &self,
                filter: &$crate::storage::CertificateFilter,
            ) -> Result<
                Vec<$crate::projections::certificates::CertificateRecord>,
                $crate::storage::StorageError,
            > {
                $crate::storage::common::certificates(&self.pool, filter).await
            }

            async fn insert_scans(
                &self,
                scans: &[$crate::scans::Scan],
            ) -> Result<(), $crate::storage::StorageError> {
                let mut tx = self.begin_write().await?;
                $crate::storage::common::insert_scans::<$db>(&mut *tx, scans).await?;
                Ok(tx.commit().await?)
            }

            async fn scans_of(
                &self,
                serial: u64,
                limit: u32,
            ) -> Result<Vec<$crate::scans::StoredScan>, $crate::storage::StorageError> {
                $crate::storage::common::scans_of(&self.pool, serial, limit).await
            }

            async fn scan_count(&self) -> Result<u64, $crate::storage::StorageError> {
                $crate::storage::common::scan_count(&self.pool).await
            }

            async fn purge_scans(&self, before: &str) -> Result<u64, $crate::storage::StorageError> {
                let mut purged = 0;
                loop {
                    let mut tx = self.begin_write().await?;
                    let deleted = $crate::storage::common::purge_scans::<$db>(&mut *tx, before)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    purged += deleted;
                    if deleted < $crate::storage::common::PURGE_CHUNK {
                        return Ok(purged);
                    }
                }
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }

        #[async_trait::async_trait]
        impl $crate::storage::AppendTx for $tx {
            $($tx_items)*

            async fn stream_versions(
                &mut self,
                streams: &[&str],
            ) -> Result<std::collections::HashMap<String, u64>, $crate::storage::StorageError> {
                $crate::storage::common::stream_versions::<$db>(&mut *self.tx, streams).await
            }

            async fn existing(
                &mut self,
                ids: &[uuid::Uuid],
            ) -> Result<
                std::collections::HashMap<uuid::Uuid, $crate::log::commit::Existing>,
                $crate::storage::StorageError,
            > {
                $crate::storage::common::existing::<$db>(&mut *self.tx, ids).await
            }

            async fn tiles(
                &mut self,
                keys: &[(u8, u64)],
            ) -> Result<Vec<$crate::storage::StoredTile>, $crate::storage::StorageError> {
                $crate::storage::common::select_tiles::<$db>(&mut *self.tx, keys).await
            }

            async fn commit(self: Box<Self>) -> Result<(), $crate::storage::StorageError> {
                Ok(self.tx.commit().await?)
            }
        }
    };
}
pub(super) use impl_store;
