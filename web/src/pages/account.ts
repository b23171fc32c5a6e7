// A resident's account pages (notification preferences and subscriptions, their data), loaded
// as one chunk on first visit.

export { MyData } from "./my-data";
export { ReachPage } from "./reach";
