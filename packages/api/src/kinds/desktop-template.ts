/**
 * DesktopTemplate: what a desktop is made of — golden image, size, SPICE settings and the
 * policy its sessions get unless something more specific binds.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Conditions, LocalRef, Name, ObservedGeneration, Quantity, StringEnum } from '../schema/common';
import { AGE, defineKind } from '../schema/define';

/** libvirt `<image compression=…/>`: how SPICE compresses images for the client. */
export const ImageCompressions = ['auto_glz', 'auto_lz', 'quic', 'glz', 'lz', 'off'] as const;
export type ImageCompression = (typeof ImageCompressions)[number];

/** libvirt `<streaming mode=…/>`: when SPICE detects video regions and streams them. */
export const StreamingModes = ['filter', 'all', 'off'] as const;
export type StreamingMode = (typeof StreamingModes)[number];

export const SpiceSettingsSchema = Type.Object(
  {
    imageCompression: Type.Optional(
      StringEnum(ImageCompressions, { default: 'auto_glz', description: 'SPICE image compression (libvirt <image compression>).' }),
    ),
    streamingMode: Type.Optional(
      StringEnum(StreamingModes, { default: 'filter', description: 'SPICE video streaming detection (libvirt <streaming mode>).' }),
    ),
  },
  { additionalProperties: false, description: 'SPICE graphics settings of the guests made from this template.' },
);

export const DesktopTemplateSpecSchema = Type.Object(
  {
    image: Name('Name of the golden image every desktop disk is a copy-on-write overlay of.', { minLength: 1 }),
    vcpus: Type.Integer({ minimum: 1, maximum: 64, description: 'Virtual CPUs of each desktop.' }),
    memory: Quantity('Guest memory, a Kubernetes quantity such as 4Gi.'),
    disk: Type.Optional(Quantity('Size of the desktop disk (the overlay grows up to this), e.g. 40Gi.', { default: '20Gi' })),
    spice: Type.Optional(SpiceSettingsSchema),
    defaultPolicyRef: Type.Optional(
      LocalRef('DesktopPolicy (same namespace) applied to sessions when no other policy binds the user.'),
    ),
  },
  { additionalProperties: false, description: 'What desktops made from this template look like.' },
);

export const DesktopTemplateStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  },
  { additionalProperties: false, description: 'Ready is True once the golden image is present on the hosts.' },
);

export const DesktopTemplateKind = defineKind({
  info: { kind: 'DesktopTemplate', plural: 'desktoptemplates', singular: 'desktoptemplate', shortNames: ['dtpl'], namespaced: true },
  description: 'DesktopTemplate describes a kind of desktop: golden image, vCPUs, memory, disk, SPICE settings and default policy.',
  spec: DesktopTemplateSpecSchema,
  status: DesktopTemplateStatusSchema,
  printerColumns: [
    { name: 'Image', type: 'string', jsonPath: '.spec.image' },
    { name: 'vCPUs', type: 'integer', jsonPath: '.spec.vcpus' },
    { name: 'Memory', type: 'string', jsonPath: '.spec.memory' },
    { name: 'Disk', type: 'string', jsonPath: '.spec.disk', priority: 1 },
    { name: 'Policy', type: 'string', jsonPath: '.spec.defaultPolicyRef.name', priority: 1 },
    AGE,
  ],
  source: 'packages/api/src/kinds/desktop-template.ts',
});

export type DesktopTemplateSpec = Static<typeof DesktopTemplateSpecSchema>;
export type DesktopTemplateStatus = Static<typeof DesktopTemplateStatusSchema>;
export type DesktopTemplate = Static<typeof DesktopTemplateKind.schema>;
export type SpiceSettings = Static<typeof SpiceSettingsSchema>;
