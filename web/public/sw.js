// The portal's service worker, at the root scope: it shows the platform's push notifications
// ({title, body, url}, as feedback-push sends them) and opens or focuses the notification's page
// when it is clicked. It caches nothing.

self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch {
      data = { body: event.data.text() };
    }
  }
  const title = typeof data.title === "string" && data.title ? data.title : "Обращения граждан";
  const options = {
    body: typeof data.body === "string" ? data.body : "",
    data: { url: typeof data.url === "string" && data.url ? data.url : "/" },
    icon: "/favicon.svg",
    lang: "ru",
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const wanted = new URL(event.notification.data?.url || "/", self.location.origin);
  // Only the portal's own pages are opened.
  const target = wanted.origin === self.location.origin ? wanted.href : new URL("/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === target) ?? windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        return (open.url === target ? Promise.resolve(open) : open.navigate(target)).then((w) => (w ?? open).focus());
      }
      return self.clients.openWindow(target);
    }),
  );
});
