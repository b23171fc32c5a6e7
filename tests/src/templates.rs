//! Authorities' reply templates on every backend: kept per authority, another authority's id
//! found as none, replaced and deleted only in their own authority, the limit counted in the
//! write, and only officials of an authority of the region keep them.

use crate::contract::{Backend, Queue};
use crate::fixtures::{actor, actor_in, citizen, code};
use crate::workflow::official;
use crate::Harness;
use feedback_core::ids::{AuthorityId, TemplateId};
use feedback_core::service::Reference;
use feedback_core::templates::{TemplateInput, TemplateStore, Templates, MAX_TEMPLATES};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::ServiceError;
use std::sync::Arc;

pub async fn templates<S: Backend + TemplateStore, Q: Queue>(h: &Harness<S, Q>) -> Templates<S, Arc<ManualClock>> {
    let reference = Arc::new(Reference::new(h.store.clone(), std::time::Duration::from_secs(60)));
    reference.seed(&sample_region()).await.unwrap();
    let clock = Arc::new(ManualClock::at("2026-11-27T10:00:00+05:00"));
    Templates::new(h.store.clone(), clock, reference)
}

fn input(title: &str, text: &str) -> TemplateInput {
    TemplateInput::parse(title, text).unwrap()
}

pub async fn templates_are_kept_per_authority<S: Backend + TemplateStore, Q: Queue>(h: &Harness<S, Q>) {
    let t = templates(h).await;
    let (roads, ishim) = (official("o-1", "tyumen-upravdor"), official("o-2", "adm-ishim"));
    let pothole = t.create(&roads, input("Яма заделана", "Яма на проезжей части заделана.")).await.unwrap();
    let lamp = t.create(&roads, input("Фонарь", "Фонарь заменён, освещение восстановлено.")).await.unwrap();
    assert_eq!(pothole.authority_id.as_str(), "tyumen-upravdor");
    let titles = |v: Vec<feedback_core::templates::ReplyTemplate>| v.into_iter().map(|t| t.title).collect::<Vec<_>>();
    assert_eq!(titles(t.list(&roads).await.unwrap()), ["Фонарь", "Яма заделана"], "by title");
    assert!(t.list(&ishim).await.unwrap().is_empty(), "another authority sees none");
    let ishim_id = AuthorityId::parse("adm-ishim").unwrap();
    assert_eq!(h.store.get_template(&ishim_id, &pothole.id).await.unwrap(), None);

    let other = input("Чужой", "Попытка изменить чужой шаблон.");
    assert!(matches!(t.update(&ishim, &pothole.id, other).await, Err(ServiceError::NotFound)));
    assert!(matches!(t.delete(&ishim, &pothole.id).await, Err(ServiceError::NotFound)));
    let unknown = TemplateId::new_at(chrono::Utc::now());
    assert!(matches!(t.delete(&roads, &unknown).await, Err(ServiceError::NotFound)));
    let changed = input("Яма заделана", "Яма заделана, покрытие восстановлено.");
    assert!(matches!(t.update(&roads, &unknown, changed.clone()).await, Err(ServiceError::NotFound)));
    assert_eq!(h.store.templates(&pothole.authority_id).await.unwrap().len(), 2, "nothing changed");

    let updated = t.update(&roads, &pothole.id, changed).await.unwrap();
    assert_eq!((updated.id, updated.created_at), (pothole.id, pothole.created_at));
    let stored = h.store.get_template(&pothole.authority_id, &pothole.id).await.unwrap().unwrap();
    assert_eq!(stored.text, "Яма заделана, покрытие восстановлено.");
    t.delete(&roads, &lamp.id).await.unwrap();
    assert!(matches!(t.delete(&roads, &lamp.id).await, Err(ServiceError::NotFound)), "deleted once");
    assert_eq!(titles(t.list(&roads).await.unwrap()), ["Яма заделана"]);
}

/// The hundred-and-first template is refused, and a place freed by a deletion is taken again.
pub async fn the_template_limit_holds<S: Backend + TemplateStore, Q: Queue>(h: &Harness<S, Q>) {
    let t = templates(h).await;
    let roads = official("o-1", "tyumen-upravdor");
    for i in 0..MAX_TEMPLATES {
        t.create(&roads, input(&format!("Шаблон {i}"), "Текст готового ответа.")).await.unwrap();
    }
    let over = t.create(&roads, input("Лишний", "Текст готового ответа.")).await.unwrap_err();
    assert_eq!(code(over), "template_limit");
    let held = t.list(&roads).await.unwrap();
    assert_eq!(held.len(), MAX_TEMPLATES as usize);
    t.create(&official("o-2", "adm-ishim"), input("Другой орган", "Свой лимит у каждого органа.")).await.unwrap();
    t.delete(&roads, &held[0].id).await.unwrap();
    t.create(&roads, input("Новый", "Текст готового ответа.")).await.unwrap();
    assert_eq!(t.list(&roads).await.unwrap().len(), MAX_TEMPLATES as usize, "a freed place is taken");
    assert_eq!(code(t.create(&roads, input("Ещё", "Текст готового ответа.")).await.unwrap_err()), "template_limit");
}

pub async fn only_officials_of_the_region_keep_templates<S: Backend + TemplateStore, Q: Queue>(h: &Harness<S, Q>) {
    let t = templates(h).await;
    let refused = [
        citizen("alice"),
        actor("a-1", "[admin]", &[]),
        actor("m-1", "[moderator]", &[]),
        official("o-9", "no-such-authority"),
        actor_in("o-1", "[official]", "66"),
    ];
    for who in refused {
        assert_eq!(code(t.list(&who).await.unwrap_err()), "forbidden", "{:?}", who.id);
        let made = t.create(&who, input("Шаблон", "Текст готового ответа.")).await;
        assert_eq!(code(made.unwrap_err()), "forbidden");
    }
    assert!(h.store.templates(&AuthorityId::parse("tyumen-upravdor").unwrap()).await.unwrap().is_empty());
}

/// Every case, for the per-backend test files.
#[macro_export]
macro_rules! templates_suite {
    ($harness:expr) => {
        $crate::templates_suite!(@cases $harness;
            templates_are_kept_per_authority,
            the_template_limit_holds,
            only_officials_of_the_region_keep_templates
        );
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (_guard, h) = $harness;
                $crate::templates::$case(&h).await;
            }
        )*
    };
}
