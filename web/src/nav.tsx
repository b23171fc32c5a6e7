import { hasRole, type Session } from "./session";

type Item = [string, string];

function items(s: Session): Item[] {
  const list: Item[] = [];
  if (hasRole(s, "citizen")) {
    list.push(["/new", "Сообщить о проблеме"], ["/messages", "Мои сообщения"], ["/notifications", "Уведомления"], ["/polls", "Голосования"], ["/discussions", "Обсуждения"], ["/me/preferences", "Уведомления и подписки"], ["/me/data", "Мои данные"]);
  }
  if (hasRole(s, "official")) list.push(["/queue", "Очередь"], ["/dashboard", "Показатели"]);
  if (hasRole(s, "moderator")) list.push(["/moderation", "Модерация"]);
  if (hasRole(s, "admin", "analyst")) list.push(["/dashboard", "Аналитика"], ["/polls", "Голосования"]);
  if (hasRole(s, "admin")) list.push(["/admin/polls/new", "Новое голосование"], ["/admin/discussions/new", "Новое обсуждение"], ["/admin/routing", "Маршрутизация"]);
  const seen = new Set<string>();
  return list.filter(([href]) => !seen.has(href) && !!seen.add(href));
}

export function AdminNav(props: { session: Session; path: string }) {
  return (
    <nav class="mainnav" aria-label="Разделы">
      <ul class="container">
        {items(props.session).map(([href, label]) => {
          const current = props.path === href || props.path.startsWith(href + "/");
          return (
            <li key={href}>
              <a href={href} aria-current={current ? "page" : undefined}>
                {label}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
