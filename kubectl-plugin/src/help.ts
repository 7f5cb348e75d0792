/** Pure: the `--help` texts, one per command, each with an example. */
import { DEFAULT_DRAIN_TIMEOUT, DEFAULT_MIGRATE_TIMEOUT, type CommandName } from './args';

const GLOBAL = `Global flags (any command):
  --kubeconfig FILE     kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME        kubeconfig context to use (default: the current context)
  -n, --namespace NS    namespace (tenant) to work in (default: the context's namespace)
  -h, --help            show help`;

export const MAIN_HELP = `kubectl desktop: Deskplane virtual desktops from the command line.

Usage:
  kubectl desktop COMMAND [flags]

Commands:
  list      List the virtual desktops of a namespace (or of all namespaces)
  console   Open a desktop's console in remote-viewer (--pool: claim one of a pool)
  migrate   Live-migrate a desktop to another host
  drain     Put a KVM host in maintenance: its desktops are migrated away
  undrain   Take a KVM host out of maintenance

${GLOBAL}

Examples:
  kubectl desktop list
  kubectl desktop console alice-dev
  kubectl desktop drain kvm-host-1 --wait

Exit codes: 0 ok, 1 failure (the message says what to do), 2 wrong usage.
Run "kubectl desktop COMMAND --help" for a command's flags.`;

const HELP: Record<CommandName, string> = {
  list: `List the VirtualDesktops of the namespace: name, phase, host and age.

Usage:
  kubectl desktop list [-A] [-o wide|json|name]

Flags:
  -A, --all-namespaces  list desktops of every namespace (adds a NAMESPACE column)
  -o, --output FORMAT   wide (adds TEMPLATE, OWNER, CONSOLE), json (a v1 List) or name

${GLOBAL}

Examples:
  kubectl desktop list
  kubectl desktop list -n team-a -o wide
  kubectl desktop list -A -o json`,

  migrate: `Live-migrate a desktop: creates a DesktopMigration for it and prints its name.
The guest keeps running; its console session follows it through the gateway.

Usage:
  kubectl desktop migrate NAME [--to HOST] [--wait [--timeout DURATION]]

Flags:
  --to HOST             KvmHost to move to (default: the scheduler picks one)
  --wait                show progress until the migration ends; exit 0 when it
                        Succeeded, 1 when it Failed or was Aborted (with the reason)
  --timeout DURATION    how long --wait waits (default ${DEFAULT_MIGRATE_TIMEOUT}); the migration goes on after it

${GLOBAL}

Examples:
  kubectl desktop migrate alice-dev --to kvm-host-2 --wait
  kubectl desktop migrate alice-dev -n team-a`,

  drain: `Put a KVM host in maintenance (spec.maintenance: true). The operator stops placing
desktops there and live-migrates the ones on it away; the host's Drained condition
turns True once none is left. Needs platform-operator rights.

Usage:
  kubectl desktop drain HOST [--wait [--timeout DURATION]]

Flags:
  --wait                show the count of desktops left until the host is Drained
  --timeout DURATION    how long --wait waits (default ${DEFAULT_DRAIN_TIMEOUT}); the drain goes on after it

${GLOBAL}

Examples:
  kubectl desktop drain kvm-host-1 --wait --timeout 1h
  kubectl desktop undrain kvm-host-1`,

  undrain: `Take a KVM host out of maintenance (spec.maintenance: false): new desktops may be
placed on it again, and drain migrations that have not started moving memory are cancelled.

Usage:
  kubectl desktop undrain HOST

${GLOBAL}

Example:
  kubectl desktop undrain kvm-host-1`,

  console: `Open a running desktop's console: fetches a .vv file from the Deskplane API and
launches remote-viewer on it. The .vv file holds a short-lived ticket: it is written
with mode 0600 into a private temporary directory and never printed.
With --pool, a desktop of the DesktopPool is claimed first (the one you already hold,
else a free one) and opened once it runs; the command waits while it starts.

Usage:
  kubectl desktop console NAME [--detach] [--viewer CMD] [--save FILE]
  kubectl desktop console --pool POOL [--detach] [--viewer CMD] [--save FILE]

Flags:
  --pool POOL           claim a desktop of this pool instead of naming one (no NAME);
                        "pool ... has no free desktop" means every one is taken
  --detach              start the viewer in the background and return once it runs
  --viewer CMD          viewer to launch (default: $DESKPLANE_VIEWER, then remote-viewer);
                        words after the first are passed before the file
  --save FILE           write the .vv file (mode 0600) and launch nothing
  --api-url URL         Deskplane API (default: $DESKPLANE_API_URL, then the apiURL key
                        of ConfigMap kube-public/deskplane-client)
  --api-ca FILE         CA certificate (PEM) that signed the API's TLS certificate
  --token TOKEN         bearer token for the API (default: $DESKPLANE_TOKEN, then the
                        kubeconfig user's own credentials)

${GLOBAL}

Examples:
  kubectl desktop console alice-dev
  kubectl desktop console alice-dev --detach
  kubectl desktop console alice-dev --save alice-dev.vv
  kubectl desktop console --pool office -n team-a`,
};

export function helpText(topic?: CommandName): string {
  return topic ? HELP[topic] : MAIN_HELP;
}
