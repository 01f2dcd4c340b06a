import type { KubernetesObject } from '@kubernetes/client-node';

/** A work-queue key: `namespace/name`, or `name` for cluster-scoped objects. */
export type ObjectKey = string;

export function keyOf(obj: KubernetesObject): ObjectKey {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function splitKey(key: ObjectKey): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
