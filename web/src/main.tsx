import { render } from "preact";
import type { ComponentChildren } from "preact";
import "./styles.css";
import { loadConfig } from "./reference";
import { match, navigate, onLinkClick, useLocation } from "./router";
import { acceptSessionsFromWindows, askOtherTabs, expired, hasRole, notice, session, signInInWindow, signOut, type Session } from "./session";
import { useSignal } from "./signal";
import { AdminNav } from "./nav";
import { UnreadBadge } from "./unread";
import { AwaitingModeration, MessageDetail, MyMessages, NewMessage, Notifications, Queue } from "./pages/messages";
import { DiscussionDetail, DiscussionList, ModerationQueue, PollDetail, PollList, ReceiptCheck } from "./pages/polls";
import { AuthCallback, homeOf, SignIn } from "./pages/signin";
import { Widget } from "./pages/widget";
import { Loading, Page } from "./ui";
import { lazyModule } from "./lazy";
import { useEffect, useState } from "preact/hooks";

const Staff = lazyModule(() => import("./pages/staff"));
const PublicPages = lazyModule(() => import("./pages/public"));
const Account = lazyModule(() => import("./pages/account"));

type Route = { path: string; view: (p: Record<string, string>) => ComponentChildren; roles?: Session["roles"] };

const ROUTES: Route[] = [
  { path: "/login", view: () => <SignIn /> },
  { path: "/ratings", view: () => <PublicPages render={(m) => <m.ScorecardsPage />} /> },
  { path: "/auth/callback", view: () => <AuthCallback /> },
  { path: "/map", view: () => <PublicPages render={(m) => <m.RegionMap />} /> },
  { path: "/new", view: () => <NewMessage />, roles: ["citizen"] },
  { path: "/messages", view: () => <MyMessages />, roles: ["citizen"] },
  { path: "/messages/:id", view: (p) => <MessageDetail id={p.id} />, roles: ["citizen", "official", "moderator", "admin"] },
  { path: "/notifications", view: () => <Notifications />, roles: ["citizen"] },
  { path: "/me/data", view: () => <Account render={(m) => <m.MyData />} />, roles: ["citizen"] },
  { path: "/me/preferences", view: () => <Account render={(m) => <m.ReachPage />} />, roles: ["citizen"] },
  { path: "/polls", view: () => <PollList />, roles: ["citizen", "admin", "analyst"] },
  { path: "/polls/:id", view: (p) => <PollDetail id={p.id} />, roles: ["citizen", "admin", "analyst"] },
  { path: "/receipt", view: () => <ReceiptCheck />, roles: ["citizen"] },
  { path: "/discussions", view: () => <DiscussionList />, roles: ["citizen", "admin", "moderator"] },
  { path: "/discussions/:id", view: (p) => <DiscussionDetail id={p.id} />, roles: ["citizen", "admin", "moderator"] },
  { path: "/queue", view: () => <Queue />, roles: ["official"] },
  { path: "/templates", view: () => <Staff render={(m) => <m.TemplatesPage />} />, roles: ["official"] },
  { path: "/moderation", view: () => <ModerationQueue />, roles: ["moderator"] },
  { path: "/moderation/messages", view: () => <AwaitingModeration />, roles: ["moderator", "admin"] },
  { path: "/dashboard", view: () => <Staff render={(m) => <m.DashboardPage />} />, roles: ["admin", "analyst", "official"] },
  { path: "/admin/polls/new", view: () => <Staff render={(m) => <m.NewPoll />} />, roles: ["admin"] },
  { path: "/admin/discussions/new", view: () => <Staff render={(m) => <m.NewPoll discussion />} />, roles: ["admin"] },
  { path: "/admin/heatmap", view: () => <Staff render={(m) => <m.HeatmapPage />} />, roles: ["admin", "analyst", "official"] },
  { path: "/admin/routing", view: () => <Staff render={(m) => <m.RoutingRules />} />, roles: ["admin"] },
  { path: "/admin/webhooks", view: () => <Staff render={(m) => <m.WebhooksPage />} />, roles: ["admin"] },
  { path: "/admin/webhooks/:id", view: (p) => <Staff render={(m) => <m.WebhookDetail id={p.id} />} />, roles: ["admin"] },
];

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, true), [props.to]);
  return null;
}

function Shell() {
  const loc = useLocation();
  const s = useSignal(session);
  const msg = useSignal(notice);
  const isExpired = useSignal(expired);
  useEffect(acceptSessionsFromWindows, []);
  // A tab opened on a signed-in page first asks the portal's open tabs for their session.
  const [asking, setAsking] = useState(() => !s && ROUTES.some((r) => r.roles && match(r.path, loc.path)));
  useEffect(() => {
    if (asking) askOtherTabs().finally(() => setAsking(false));
  }, []);
  const [region, setRegion] = useState("Платформа обратной связи");
  useEffect(() => {
    loadConfig().then(
      (c) => c.region && setRegion(c.region.name),
      () => undefined,
    );
  }, []);
  if (loc.path === "/widget") return <Widget />;

  let content: ComponentChildren = null;
  if (loc.path === "/") {
    content = <Redirect to={s ? homeOf(s) : "/login"} />;
  } else {
    const found = ROUTES.map((r) => ({ r, p: match(r.path, loc.path) })).find((x) => x.p);
    if (!found) {
      content = (
        <Page title="Страница не найдена">
          <p>
            Такой страницы нет. <a href="/">На главную</a>
          </p>
        </Page>
      );
    } else if (found.r.roles && !s && asking) {
      content = <Loading />;
    } else if (found.r.roles && !s) {
      content = <Redirect to={`/login?return=${encodeURIComponent(loc.path + window.location.search)}`} />;
    } else if (found.r.roles && !hasRole(s, ...found.r.roles)) {
      content = (
        <Page title="Нет доступа">
          <p>Этот раздел недоступен для вашей роли.</p>
        </Page>
      );
    } else {
      content = found.r.view(found.p!);
    }
  }
  return (
    <div class="app" onClick={onLinkClick}>
      <a class="skip-link" href="#main">
        Перейти к содержимому
      </a>
      <header class="topbar">
        <div class="container topbar-inner">
          <a href="/" class="brand">
            <span class="brand-name">Решаем вместе</span>
            <span class="brand-region">{region}</span>
          </a>
          {s && (
            <div class="user">
              {hasRole(s, "citizen") && <UnreadBadge path={loc.path} />}
              <span>{s.name ?? s.sub}</span>
              <button
                class="btn btn-link btn-on-dark"
                onClick={() => {
                  signOut();
                  navigate("/login");
                }}
              >
                Выйти
              </button>
            </div>
          )}
        </div>
        {s && <AdminNav session={s} path={loc.path} />}
      </header>
      <main id="main" class="container">
        {isExpired && (
          <div class="alert alert-warn" role="alert">
            <strong>Сеанс истёк.</strong> Войдите снова — введённые данные останутся на странице.{" "}
            <button class="btn btn-secondary" onClick={() => signInInWindow(loc.path + window.location.search)}>
              Войти снова
            </button>
          </div>
        )}
        {msg && (
          <div class="alert alert-warn" role="status">
            {msg}{" "}
            <button class="btn btn-link" onClick={() => notice.set(null)}>
              Закрыть
            </button>
          </div>
        )}
        {content}
      </main>
      <footer class="footer container">
        <p>Платформа обратной связи с жителями региона</p>
        <p>
          <a href="/map">Проблемы региона на карте</a> · <a href="/ratings">Рейтинг ведомств и открытые данные</a>
        </p>
      </footer>
    </div>
  );
}

// The configuration (sign-in mode, the region and its time zone) comes first; the portal still
// starts when it fails, and the sign-in page then shows the error.
loadConfig()
  .catch(() => null)
  .finally(() => render(<Shell />, document.getElementById("app")!));
