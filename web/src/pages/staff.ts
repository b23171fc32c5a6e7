// The pages only admins, analysts and officials open, loaded as one chunk on first visit.

export { DashboardPage } from "./dashboard";
export { HeatmapPage } from "./heatmap";
export { NewPoll } from "./new-poll";
export { RoutingRules } from "./routing";
export { WebhookDetail, WebhooksPage } from "./webhooks";
export { TemplatesPage } from "./templates";
