/** Request and response schemas of the domain routes (TypeBox: validator, type and OpenAPI schema in one). */
export * from './common';
export * from './desktops';
export * from './tenants';
export * from './ops';
export * from './pools';
