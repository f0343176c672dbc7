//! The `marktrace` binary as operators run it: `keygen`, `log verify` catching tampering done
//! directly in the database, and `serve` refusing a key file others can read.

use std::os::unix::fs::PermissionsExt;

use crate::common;
use common::world::register_issuer;
use common::{ORIGIN, TestDb, seed};

/// Runs SQL directly against the test database, as an attacker with database access would.
async fn tamper(db: &TestDb, sql: &str) {
    tamper_each(db, sql, sql).await;
}

async fn tamper_each(db: &TestDb, sqlite: &str, postgres: &str) {
    if db.url.starts_with("sqlite:") {
        let sql = sqlite;
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let sql = postgres;
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn log_verify_names_an_entry_whose_data_changed(db: TestDb) {
    seed(&db, 300).await;
    let stdout = db.marktrace_ok(&["log", "verify"]);
    assert!(
        stdout.contains("log verified: 300 entries (300 recomputed"),
        "{stdout}"
    );

    // One byte of entry 137's data: {"i":137} becomes {"i":138}.
    tamper(
        &db,
        r#"UPDATE events SET data = '{"i":138}' WHERE idx = 137"#,
    )
    .await;
    let stderr = db.marktrace_err(&["log", "verify"]);
    assert!(stderr.contains("entry 137:"), "{stderr}");
    // Resuming past the change takes the stored hash as given, and finds nothing else.
    db.marktrace_ok(&["log", "verify", "--from", "138"]);
    db.cleanup().await;
}

async fn log_verify_names_a_deleted_last_entry(db: TestDb) {
    seed(&db, 40).await;
    tamper(&db, "DELETE FROM events WHERE idx = 39").await;
    let stderr = db.marktrace_err(&["log", "verify"]);
    assert!(stderr.contains("entry 39: missing"), "{stderr}");
    db.cleanup().await;
}

async fn log_verify_names_a_changed_tree_hash(db: TestDb) {
    seed(&db, 20).await;
    // Zero the stored hashes of the first level-0 tile: proofs would be served from them.
    tamper_each(
        &db,
        "UPDATE tiles SET hashes = zeroblob(length(hashes)) WHERE level = 0 AND idx = 0",
        "UPDATE tiles SET hashes = decode(repeat('00', length(hashes)), 'hex') \
         WHERE level = 0 AND idx = 0",
    )
    .await;
    let stderr = db.marktrace_err(&["log", "verify"]);
    assert!(
        stderr.contains("stored tree hash at level 0, index 0"),
        "{stderr}"
    );
    db.cleanup().await;
}

async fn a_head_that_disagrees_with_its_checkpoint_is_never_signed_over(db: TestDb) {
    seed(&db, 5).await;
    // Rewrite the stored frontier, as someone trying to graft another history would.
    tamper_each(
        &db,
        "UPDATE log_head SET frontier = zeroblob(length(frontier))",
        "UPDATE log_head SET frontier = decode(repeat('00', length(frontier)), 'hex')",
    )
    .await;
    let stderr = db.marktrace_err(&["init"]);
    assert!(
        stderr.contains("does not match its signed checkpoint"),
        "{stderr}"
    );
    let checkpoints = db.store().await.read_checkpoints(0, 100).await.unwrap();
    assert_eq!(
        checkpoints.last().unwrap().size,
        5,
        "no checkpoint was signed over it"
    );
    db.cleanup().await;
}

async fn keygen_creates_private_keys_once_and_prints_their_public_halves(db: TestDb) {
    let stdout = db.marktrace_ok(&["keygen"]);
    let vkey_line = stdout
        .lines()
        .find(|l| l.starts_with("log verifier key: "))
        .unwrap();
    assert!(vkey_line.contains(&format!("{ORIGIN}+")));
    let root_line = stdout
        .lines()
        .find(|l| l.starts_with("brand root key: "))
        .unwrap()
        .to_owned();
    for name in ["log.pem", "root.pem"] {
        let path = db.keys_dir.join(name);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let log_pem = std::fs::read(db.keys_dir.join("log.pem")).unwrap();
    let stdout = db.marktrace_ok(&["keygen"]);
    assert!(stdout.contains("kept"), "{stdout}");
    assert!(
        stdout.contains(&root_line),
        "the root is kept, not replaced"
    );
    assert_eq!(std::fs::read(db.keys_dir.join("log.pem")).unwrap(), log_pem);
    // The served key is the one keygen printed.
    let init = db.marktrace_ok(&["init"]);
    assert!(
        init.contains(vkey_line.trim_start_matches("log ")),
        "{init}"
    );
    db.cleanup().await;
}

async fn keygen_makes_an_endorsed_issuer_key_for_a_registered_issuer(db: TestDb) {
    let unknown = db.marktrace_err(&["keygen", "--issuer", "jx-cb1"]);
    assert!(
        unknown.contains("issuer jx-cb1 does not exist"),
        "{unknown}"
    );
    assert_eq!(
        db.issuer_key_files(),
        0,
        "a refused key leaves no file behind"
    );

    let node = db.node().await;
    let log = &node.services;
    register_issuer(log, "jx-cb1", "江西绿色生态", "360000").await;
    node.close().await;

    let stdout = db.marktrace_ok(&["keygen", "--issuer", "jx-cb1", "--activate"]);
    let added: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("issuer key: "))
            .unwrap(),
    )
    .unwrap();
    let key_id = added["key_id"].as_str().unwrap();
    assert!(stdout.contains(&format!("activated {key_id}")));
    let file = db.keys_dir.join(format!("issuer-jx-cb1-{key_id}.pem"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(&file).unwrap();
    let secret_b64 = pem.lines().nth(1).unwrap();
    assert!(
        !stdout.contains(secret_b64),
        "the private key is never printed"
    );

    // The root that endorsed it is the one in keys/root.pem.
    let root = marktrace::keys::load(&db.keys_dir.join("root.pem")).unwrap();
    let added: marktrace::domain::key::IssuerKeyAdded = serde_json::from_value(added).unwrap();
    assert!(added.endorsed_by(&root.verifying_key()));
    db.cleanup().await;
}

async fn projections_rebuild_from_the_log_and_stay_exact(db: TestDb) {
    seed(&db, 7).await;
    for _ in 0..2 {
        let rebuilt = db.marktrace_ok(&["projections", "rebuild"]);
        assert!(
            rebuilt.contains("rebuilt event_types: 7 events applied"),
            "{rebuilt}"
        );
        let counts = db.store().await.event_type_counts().await.unwrap();
        assert_eq!(counts, vec![("Seeded".to_string(), 7)]);
    }
    db.cleanup().await;
}

async fn serve_refuses_a_key_file_others_can_read(db: TestDb) {
    seed(&db, 1).await;
    let path = db.keys_dir.join("log.pem");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = db.marktrace_err(&["serve"]);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("readable by group or others"), "{stderr}");
    db.cleanup().await;
}

/// The SQLite database holds consumer reports, case notes and token hashes: under umask 022
/// `serve` creates it, its `-wal` and `-shm` 0600 in a 0700 directory, and refuses to start
/// once group or others can read any of the three, naming the file. (SQLite only: a
/// PostgreSQL database is no file of ours.)
#[test]
fn the_database_files_are_private_and_serve_refuses_exposed_ones() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data").join("marktrace.db");
    let db = TestDb::existing(
        &format!("sqlite://{}", file.display()),
        &dir.path().join("keys"),
    );
    let keys = db.keys_dir.display().to_string();
    let mut child = Command::new("sh")
        .args(["-c", r#"umask 022 && exec "$@""#, "sh"])
        .arg(env!("CARGO_BIN_EXE_marktrace"))
        .args(["--config", "/dev/null", "--database-url", &db.url])
        .args(["--keys-dir", &keys, "--log-origin", ORIGIN])
        .args(["--listen", "127.0.0.1:0", "serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let serving = line.contains("marktrace serving");
        seen.push(line);
        if serving {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("marktrace serving")),
        "{}",
        seen.join("\n")
    );
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let sibling = |suffix: &str| file.with_file_name(format!("marktrace.db{suffix}"));
    let files = [file.clone(), sibling("-wal"), sibling("-shm")];
    let modes: Vec<String> = files.iter().map(|f| format!("{:o}", mode(f))).collect();
    // Killed, as by a crash: the -wal and -shm files stay behind.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(modes, ["600"; 3], "{files:?}");
    assert_eq!(format!("{:o}", mode(file.parent().unwrap())), "700");

    for exposed in &files {
        std::fs::set_permissions(exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
        let stderr = db.marktrace_err(&["serve"]);
        assert!(
            stderr.contains(&format!(
                "{}: readable by group or others",
                exposed.display()
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("chmod 600 {}", exposed.display())),
            "{stderr}"
        );
        std::fs::set_permissions(exposed, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    db.marktrace_ok(&["init"]);
}

on_both_backends!(
    log_verify_names_an_entry_whose_data_changed,
    log_verify_names_a_deleted_last_entry,
    log_verify_names_a_changed_tree_hash,
    a_head_that_disagrees_with_its_checkpoint_is_never_signed_over,
    keygen_creates_private_keys_once_and_prints_their_public_halves,
    keygen_makes_an_endorsed_issuer_key_for_a_registered_issuer,
    serve_refuses_a_key_file_others_can_read,
    projections_rebuild_from_the_log_and_stay_exact,
);
