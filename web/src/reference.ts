// The region's reference data and the portal configuration, loaded once.

import { api, request, type Schemas } from "./api";
import { setDisplayZone } from "./format";

export type Category = Schemas["CategoryView"];
export type Municipality = Schemas["MunicipalityView"];
export type Authority = Schemas["AuthorityView"];

export interface DemoUser {
  sub: string;
  name: string;
  title: string;
  roles: string[];
  region?: string;
  municipality?: string | null;
  authority?: string;
  birthdate?: string;
}
/** The portal's own configuration: `GET /config.json`, served beside the API and not part of it. */
export interface Config {
  auth: "dev" | "oidc";
  issuer?: string;
  client_id?: string;
  scope?: string;
  region?: { code: string; name: string; time_zone?: string } | null;
  demo_users?: DemoUser[];
}

export interface Reference {
  categories: Category[];
  municipalities: Municipality[];
  authorities: Authority[];
  category: (id?: string | null) => string;
  municipality: (id?: string | null) => string;
  authority: (id?: string | null) => string;
}

let configPromise: Promise<Config> | null = null;
/** The configuration once loaded (the portal loads it before its first render). */
export let loadedConfig: Config | null = null;
let refPromise: Promise<Reference> | null = null;

export function loadConfig(): Promise<Config> {
  configPromise ??= request<Config>("GET", "/config.json").then((c) => {
    if (c.region?.time_zone) setDisplayZone(c.region.time_zone);
    loadedConfig = c;
    return c;
  }, (e) => {
    configPromise = null;
    throw e;
  });
  return configPromise;
}

export function loadReference(): Promise<Reference> {
  // The reference lists take no paging parameters: each comes whole in one page.
  refPromise ??= Promise.all([api.get("/v1/categories"), api.get("/v1/municipalities"), api.get("/v1/authorities")])
    .then(([{ items: categories }, { items: municipalities }, { items: authorities }]) => {
      const byId = <T extends { id: string; name: string }>(list: T[]) => {
        const m = new Map(list.map((x) => [x.id, x.name]));
        return (id?: string | null) => (id ? (m.get(id) ?? id) : "—");
      };
      return {
        categories,
        municipalities,
        authorities,
        category: byId(categories),
        municipality: byId(municipalities),
        authority: byId(authorities),
      };
    })
    .catch((e) => {
      refPromise = null;
      throw e;
    });
  return refPromise;
}
