import { useEffect, useState } from "preact/hooks";
import { hasRole, type Session } from "./session";

type Item = [string, string];

function items(s: Session): Item[] {
  const list: Item[] = [];
  const map: Item = ["/map", "Проблемы на карте"];
  if (hasRole(s, "citizen")) {
    list.push(["/new", "Сообщить о проблеме"], ["/messages", "Мои сообщения"], ["/notifications", "Уведомления"], ["/polls", "Голосования"], ["/discussions", "Обсуждения"], ["/me/preferences", "Уведомления и подписки"], ["/me/data", "Мои данные"]);
  }
  if (hasRole(s, "official")) list.push(["/queue", "Очередь"], ["/dashboard", "Показатели"], ["/templates", "Шаблоны ответов"]);
  if (hasRole(s, "moderator")) list.push(["/moderation/messages", "На модерации"], ["/moderation", "Модерация"], ["/discussions", "Обсуждения"]);
  if (hasRole(s, "admin", "analyst")) list.push(["/dashboard", "Аналитика"], ["/admin/heatmap", "Карта обращений"], ["/polls", "Голосования"]);
  if (hasRole(s, "admin")) list.push(["/discussions", "Обсуждения"], ["/moderation/messages", "На модерации"]);
  list.push(map, ["/ratings", "Рейтинг ведомств"]);
  if (hasRole(s, "admin")) list.push(["/admin/polls/new", "Новое голосование"], ["/admin/discussions/new", "Новое обсуждение"], ["/admin/routing", "Маршрутизация"], ["/admin/webhooks", "Вебхуки"]);
  const seen = new Set<string>();
  return list.filter(([href]) => !seen.has(href) && !!seen.add(href));
}

/** How many sections the phone's bottom tab bar shows; the rest are behind «Ещё». */
const TABS = 4;

function Link(props: { item: Item; path: string; class?: string }) {
  const [href, label] = props.item;
  const current = props.path === href || props.path.startsWith(href + "/");
  return (
    <li class={props.class}>
      <a href={href} aria-current={current ? "page" : undefined}>
        {label}
      </a>
    </li>
  );
}

/**
 * The sections of the signed-in person's roles: a row under the header on a wide screen; on a
 * phone a tab bar at the bottom, within the thumb's reach, with the first sections as tabs and
 * the others in a sheet that «Ещё» opens.
 */
export function AdminNav(props: { session: Session; path: string }) {
  const list = items(props.session);
  const [more, setMore] = useState(false);
  useEffect(() => setMore(false), [props.path]);
  const rest = list.slice(TABS);
  return (
    <nav class="mainnav" aria-label="Разделы">
      <ul class="container">
        {list.map((item, i) => (
          <Link key={item[0]} item={item} path={props.path} class={i >= TABS ? "nav-extra" : undefined} />
        ))}
        {rest.length > 0 && (
          <li class="nav-more">
            <button type="button" aria-expanded={more} aria-controls="nav-sheet" onClick={() => setMore(!more)}>
              Ещё
            </button>
          </li>
        )}
      </ul>
      {rest.length > 0 && (
        <ul id="nav-sheet" class="nav-sheet" hidden={!more}>
          {rest.map((item) => (
            <Link key={item[0]} item={item} path={props.path} />
          ))}
        </ul>
      )}
    </nav>
  );
}
