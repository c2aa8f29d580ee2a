//! IAM writes and reads from many tasks at once: no update lost, no write seen half applied.

use super::TRUST_ACCOUNT_111;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_lose_no_update() {
    const TASKS: usize = 16;
    const EACH: usize = 8;
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_group()
        .group_name("shared")
        .send()
        .await
        .unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let admin = admin.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    // A new entity and a read-modify-write of one shared entity, interleaved.
                    admin
                        .create_user()
                        .user_name(format!("u{t}-{i}"))
                        .send()
                        .await
                        .unwrap();
                    admin
                        .add_user_to_group()
                        .group_name("shared")
                        .user_name(format!("u{t}-{i}"))
                        .send()
                        .await
                        .unwrap();
                    admin.list_users().max_items(1000).send().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let users = admin.list_users().max_items(1000).send().await.unwrap();
    let created = users
        .users()
        .iter()
        .filter(|u| u.user_name().starts_with('u') && u.user_name().contains('-'))
        .count();
    assert_eq!(created, TASKS * EACH);
    let group = admin
        .get_group()
        .group_name("shared")
        .max_items(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(group.users().len(), TASKS * EACH);
}

/// Readers running beside writers see each write whole: a TagRole that sets two tags to
/// the same value is never seen with one tag old and one new, through ListRoleTags or
/// GetRole, and the last write of each writer is what remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_never_see_a_half_applied_write() {
    const WRITERS: usize = 4;
    const READERS: usize = 4;
    const WRITES: usize = 40;
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_role()
        .role_name("contended")
        .assume_role_policy_document(TRUST_ACCOUNT_111)
        .send()
        .await
        .unwrap();
    let tag = |key: &str, value: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .unwrap()
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let admin = admin.clone();
            tokio::spawn(async move {
                for i in 0..WRITES {
                    let value = format!("w{w}-{i}");
                    admin
                        .tag_role()
                        .role_name("contended")
                        .tags(tag("a", &value))
                        .tags(tag("b", &value))
                        .tags(tag(&format!("last-{w}"), &value))
                        .send()
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let admin = admin.clone();
            let done = std::sync::Arc::clone(&done);
            tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
                    let tags: Vec<(String, String)> = if r % 2 == 0 {
                        admin
                            .list_role_tags()
                            .role_name("contended")
                            .send()
                            .await
                            .unwrap()
                            .tags()
                            .iter()
                            .map(|t| (t.key().to_owned(), t.value().to_owned()))
                            .collect()
                    } else {
                        admin
                            .get_role()
                            .role_name("contended")
                            .send()
                            .await
                            .unwrap()
                            .role()
                            .map(|role| {
                                role.tags()
                                    .iter()
                                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let value =
                        |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                    assert_eq!(value("a"), value("b"), "a torn write: {tags:?}");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    for reader in readers {
        let reads = reader.await.unwrap();
        assert!(reads > 0);
    }
    let tags = admin
        .list_role_tags()
        .role_name("contended")
        .send()
        .await
        .unwrap();
    for w in 0..WRITERS {
        let last = tags.tags().iter().find(|t| t.key() == format!("last-{w}"));
        assert_eq!(
            last.map(aws_sdk_iam::types::Tag::value),
            Some(format!("w{w}-{}", WRITES - 1).as_str()),
            "writer {w}'s last write was lost"
        );
    }
}
