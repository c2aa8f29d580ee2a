//! A world's entities of one kind, as a persistent vector, and what edits and compares them
//! without copying or visiting what did not change.

/// A world's entities of one kind (users, roles, customer managed policies, …): a persistent
/// vector, so a copy of the world shares every entity a write leaves alone and an IAM write
/// costs what it changes, not the size of the world (see `iam::state`).
pub type Entities<T> = imbl::Vector<T>;

/// The first entity `matches` picks, to edit: only its chunk of the persistent vector is
/// copied (`iter_mut` would copy every chunk it passes).
pub(crate) fn find_mut<T: Clone>(
    items: &mut Entities<T>,
    matches: impl Fn(&T) -> bool,
) -> Option<&mut T> {
    let at = items.iter().position(matches)?;
    items.get_mut(at)
}

/// Removes the entities `matches` picks, sharing the rest (`retain` would copy every chunk
/// after the first removed).
pub(crate) fn remove_where<T: Clone>(items: &mut Entities<T>, matches: impl Fn(&T) -> bool) {
    let found: Vec<usize> = (items.iter().enumerate())
        .filter(|(_, item)| matches(item))
        .map(|(at, _)| at)
        .collect();
    for at in found.into_iter().rev() {
        items.remove(at);
    }
}

/// An entity with a key unique in its collection (a name; a URL for OIDC providers).
pub(crate) trait Keyed {
    /// The key.
    fn key(&self) -> &str;
}

macro_rules! named {
    ($($spec:ident . $field:ident),*) => {$(
        impl Keyed for super::$spec {
            fn key(&self) -> &str {
                &self.$field
            }
        }
    )*};
}
named!(
    UserSpec.name,
    GroupSpec.name,
    RoleSpec.name,
    ManagedPolicySpec.name,
    InstanceProfileSpec.name,
    OidcProviderSpec.url
);

/// The keys of the entities created, changed or deleted from `old` to `new`: at least those
/// (a key may be named that did not change, never one missed).
///
/// Writes change entities in place, append or remove them; the two sequences are walked
/// side by side. An entity shared in memory is unchanged without a look; one with the same
/// key is compared; otherwise the old one is taken as removed.
pub(crate) fn changed<T: Keyed + PartialEq>(old: &Entities<T>, new: &Entities<T>) -> Vec<String> {
    let mut keys = Vec::new();
    if old.ptr_eq(new) {
        return keys;
    }
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
        if std::ptr::eq(*a, *b) || a == b {
            new.next();
        } else if a.key() == b.key() {
            keys.push(b.key().to_owned());
            new.next();
        } else {
            keys.push(a.key().to_owned());
        }
        old.next();
    }
    keys.extend(old.chain(new).map(|e| e.key().to_owned()));
    dedup(&mut keys);
    keys
}

/// Sorts the keys and drops repeats.
pub(crate) fn dedup(keys: &mut Vec<String>) {
    keys.sort_unstable();
    keys.dedup();
}

/// The entities with these keys.
pub(crate) fn select<'a, T: Keyed>(items: &'a Entities<T>, keys: &[String]) -> Vec<&'a T> {
    if keys.is_empty() {
        return Vec::new();
    }
    items
        .iter()
        .filter(|e| keys.iter().any(|k| k == e.key()))
        .collect()
}
