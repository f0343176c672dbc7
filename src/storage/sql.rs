//! What the statements of every owner share: the `$n` text both engines accept, multi-row
//! statements in chunks within the engines' parameter limits, and the paged `SELECT`.
//!
//! The SQL is written once. Fixed statements use `$n` parameters, which SQLite accepts as
//! numbered parameters too, so one text serves both; multi-row statements are generated per
//! engine (see [`value_rows`]). The functions that run them are written once inside
//! [`per_engine!`], which compiles them for each engine with concrete types: a function generic
//! over sqlx's `Database` would have to repeat sqlx's requirements (that a connection executes
//! queries, that our rows decode and our values encode) in a `where` clause of its own.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::log::StorageError;

/// Most rows per multi-row statement: at 14 parameters a row this stays under SQLite's 32,766
/// and PostgreSQL's 65,535 bound parameters.
pub(super) const MAX_CHUNK: usize = 1024;

/// Splits rows into as few statements as the parameter limits allow. A multi-row statement's
/// text depends on its row count, so these statements are prepared for one use only
/// (`persistent(false)`) rather than crowding the connection's statement cache.
/// Writes the functions given once per engine, as the modules `sqlite` and `postgres` of the
/// module it is used in, with `DB` naming the engine and `Conn` its connection; the items of
/// the surrounding module are in scope.
macro_rules! per_engine {
    ($($item:item)*) => {
        pub(super) mod sqlite {
            #[allow(unused_imports, reason = "each module uses some of its parent's items")]
            use super::*;
            type DB = sqlx::Sqlite;
            #[allow(dead_code, reason = "an owner's SQL may need only the pool")]
            type Conn = sqlx::SqliteConnection;
            $($item)*
        }
        pub(super) mod postgres {
            #[allow(unused_imports, reason = "each module uses some of its parent's items")]
            use super::*;
            type DB = sqlx::Postgres;
            #[allow(dead_code, reason = "an owner's SQL may need only the pool")]
            type Conn = sqlx::PgConnection;
            $($item)*
        }
    };
}
pub(super) use per_engine;

pub(super) fn chunks<T>(rows: &[T]) -> std::slice::Chunks<'_, T> {
    rows.chunks(MAX_CHUNK)
}

/// `($1, $2, ...), (...)`: `rows` tuples of `cols` parameters. SQLite gets anonymous `?`
/// parameters instead: sqlx looks up the name of every numbered SQLite parameter, and SQLite
/// finds a name by walking a list, which makes binding a 14,000-parameter INSERT quadratic.
pub(super) fn value_rows<DB: Database>(rows: usize, cols: usize) -> String {
    use std::fmt::Write;
    let anonymous = DB::NAME == "SQLite";
    let mut sql = String::with_capacity(rows * cols * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..cols {
            sql.push_str(if col == 0 { "" } else { ", " });
            if anonymous {
                sql.push('?');
            } else {
                let _ = write!(sql, "${}", row * cols + col + 1);
            }
        }
        sql.push(')');
    }
    sql
}

/// A `SELECT` narrowed by optional equality and prefix conditions and paged by key: the
/// statement text and its values, bound in order.
pub(super) struct Page {
    sql: String,
    binds: Vec<String>,
}

impl Page {
    pub(super) fn new(select: &str) -> Page {
        Page {
            sql: format!("{select} WHERE 1 = 1"),
            binds: Vec::new(),
        }
    }

    /// Adds `AND <clause> $n` when there is a value.
    pub(super) fn and(mut self, clause: &str, value: Option<String>) -> Page {
        if let Some(value) = value {
            self.binds.push(value);
            self.sql
                .push_str(&format!(" AND {clause} ${}", self.binds.len()));
        }
        self
    }

    /// Orders by `key`, after the previous page's last key, and limits the page.
    pub(super) async fn fetch<DB: Database, R>(
        mut self,
        pool: &Pool<DB>,
        key: &str,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<R>, StorageError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
        for<'r> R: FromRow<'r, DB::Row> + Send + Unpin,
        for<'q> String: Encode<'q, DB> + Type<DB>,
        for<'q> i64: Encode<'q, DB> + Type<DB>,
    {
        self = self.and(&format!("{key} >"), after);
        self.sql
            .push_str(&format!(" ORDER BY {key} LIMIT ${}", self.binds.len() + 1));
        let mut query = sqlx::query_as(&self.sql);
        for value in self.binds {
            query = query.bind(value);
        }
        Ok(query.bind(i64::from(limit)).fetch_all(pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_anonymous_parameters_and_postgres_numbered_ones() {
        assert_eq!(value_rows::<sqlx::Sqlite>(2, 2), "(?, ?), (?, ?)");
        assert_eq!(value_rows::<sqlx::Postgres>(2, 2), "($1, $2), ($3, $4)");
    }
}
