import { DesktopPhases, RunStrategies } from '@deskplane/api';
import { Type } from '@sinclair/typebox';
import { LabelName, ObjectName, OneOf, Time } from './common';

/** Desktops, templates and consoles: what tenants work with. */

export const RunStrategy = OneOf(RunStrategies, 'Always: keep it running; Halted: keep it stopped; Manual: leave it as it is.');

export const DesktopView = Type.Object(
  {
    name: Type.String(),
    tenant: Type.String({ description: 'The namespace it lives in.' }),
    owner: Type.Optional(Type.String({ description: 'Unset only for an unclaimed pool desktop.' })),
    template: Type.String(),
    runStrategy: RunStrategy,
    persistent: Type.Boolean({ description: 'Its disk survives a stop.' }),
    phase: OneOf(DesktopPhases, 'Where it is in its lifecycle; Pending until the operator has written one.'),
    ready: Type.Boolean({ description: 'The Ready condition is True.' }),
    consoleReady: Type.Boolean({ description: 'Running with a console the gateway can reach: GET .../console works.' }),
    reason: Type.Optional(Type.String({ description: "The Ready condition's reason, e.g. Running, Unschedulable." })),
    message: Type.Optional(Type.String({ description: "The Ready condition's message (platform ops only: it names hosts)." })),
    createdAt: Type.Optional(Time('When it was created.')),
    runningSince: Type.Optional(Time('When it last started running.')),
    deleting: Type.Boolean({ description: 'Deletion was requested; it goes once its guest is removed.' }),
    host: Type.Optional(Type.String({ description: 'The KvmHost it runs on (platform ops only).' })),
  },
  { title: 'Desktop' },
);

export const DesktopList = Type.Object({ items: Type.Array(DesktopView) }, { title: 'DesktopList' });

export const DeleteAccepted = Type.Object(
  {
    name: Type.String(),
    tenant: Type.String(),
    deleting: Type.Literal(true, { description: 'Deletion was requested; GET shows the desktop until its guest is removed, then 404.' }),
  },
  { title: 'DeleteAccepted' },
);

export const CreateDesktopRequest = Type.Object(
  {
    name: LabelName('The new desktop: lower-case letters, digits and "-", at most 63.'),
    template: ObjectName('A template from GET /templates.'),
    runStrategy: Type.Optional(RunStrategy),
    persistent: Type.Optional(Type.Boolean({ description: 'Keep the disk across stops (default true).' })),
  },
  { additionalProperties: false, title: 'CreateDesktop' },
);

export const TemplateView = Type.Object(
  {
    name: Type.String(),
    source: OneOf(['tenant', 'shared'] as const, "tenant: the tenant's own; shared: offered to every tenant."),
    image: Type.String(),
    vcpus: Type.Integer({ minimum: 0 }),
    memory: Type.String({ description: 'e.g. 4Gi.' }),
    disk: Type.Optional(Type.String()),
    ready: Type.Optional(Type.Boolean({ description: "The template's Ready condition, when it has one." })),
  },
  { title: 'Template' },
);

export const TemplateList = Type.Object({ items: Type.Array(TemplateView) }, { title: 'TemplateList' });

export const ConsoleQuery = Type.Object({
  kind: Type.Optional(OneOf(['vv', 'browser'] as const, 'vv (default): a .vv file for remote-viewer; browser: a URL of the browser console.')),
  tenant: Type.Optional(LabelName('Platform ops: the tenant. Others: their own only.')),
});

/** The browser console's answer (kind=browser); the .vv file is text. */
export const BrowserConsole = Type.Object(
  {
    url: Type.String({ description: 'Opens the console; the ticket is in the fragment, which browsers never send to a server.' }),
    expiresAt: Time('The ticket must be used by then.'),
  },
  { title: 'BrowserConsole' },
);

export const DesktopEventsQuery = Type.Object({
  all: Type.Optional(Type.Boolean({ description: "Tenant admins: the whole tenant's desktops. Platform ops: every tenant's (or `tenant`'s)." })),
  tenant: Type.Optional(LabelName('Platform ops: one tenant only. Others: their own only.')),
});
