{{/* Names and labels, as helm create lays them out. */}}
{{- define "moat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "moat.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "moat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "moat.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "moat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "moat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.controller.name }}
{{- end }}

{{- define "moat.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "moat.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "moat.image" -}}
{{- $img := .Values.controller.image }}
{{- $repo := $img.repository | default (printf "%s/%s" $img.registry $img.image) }}
{{- $tag := $img.tag | default (printf "v%s" .Chart.AppVersion) }}
{{- if $img.digest }}
{{- printf "%s:%s@%s" $repo $tag $img.digest }}
{{- else }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/* The namespace --watch-namespace names when scope is on. */}}
{{- define "moat.scopeNamespace" -}}
{{- .Values.controller.scope.namespace | default .Release.Namespace }}
{{- end }}

{{/*
The controller's flags. extraArgs may name only these (and not the ones
the chart sets itself); cmd/moat's tests keep the list in step with
`moat controller --help`.
*/}}
{{- define "moat.knownFlags" -}}
kubeconfig ingress-class controller-class watch-namespace watch-ingress-without-class publish-service publish-status-address configmap tcp-services-configmap udp-services-configmap annotations-prefix default-ssl-certificate default-backend-service election-id http-addr https-addr admin-addr debug-addr https-redirect-port enable-ssl-passthrough profiling access-log access-log-format shutdown-grace-period log-level http3 gateway-controller-name gateway-address-pool
{{- end }}
{{- define "moat.chartFlags" -}}
ingress-class: controller.ingressClass
controller-class: controller.ingressClassResource.controllerValue
election-id: controller.electionID
configmap: controller.config
http-addr: controller.containerPort.http
https-addr: controller.containerPort.https
admin-addr: controller.adminPort
debug-addr: controller.debugAddr
publish-service: controller.publishService
watch-ingress-without-class: controller.watchIngressWithoutClass
http3: controller.http3.enabled
{{- end }}

{{/*
Refuse what moat cannot honour, naming the key: a values file ported from
ingress-nginx must not render a controller that silently does less.
*/}}
{{- define "moat.refuse" -}}
{{- $c := .Values.controller }}
{{- $why := list }}
{{- if ne $c.kind "Deployment" }}
{{- $why = append $why (printf "controller.kind=%s: moat's chart runs a Deployment (with controller.autoscaling and topologySpreadConstraints for spread); DaemonSet is not supported" $c.kind) }}
{{- end }}
{{- if $c.hostNetwork }}
{{- $why = append $why "controller.hostNetwork: moat runs without capabilities and cannot bind the node's ports 80/443; use controller.service (type LoadBalancer or NodePort)" }}
{{- end }}
{{- if $c.hostPort.enabled }}
{{- $why = append $why "controller.hostPort.enabled: moat runs without capabilities; use controller.service.type=NodePort with controller.service.nodePorts" }}
{{- end }}
{{- if $c.allowSnippetAnnotations }}
{{- $why = append $why "controller.allowSnippetAnnotations: moat never passes configuration snippets through (there is no nginx.conf); see docs/annotations.md for the annotations that replace them" }}
{{- end }}
{{- if $c.admissionWebhooks.enabled }}
{{- $why = append $why "controller.admissionWebhooks.enabled: moat has no validating webhook; check manifests with `moat lint` before applying, and read a bad object's diagnostics in its Events" }}
{{- end }}
{{- if $c.opentelemetry.enabled }}
{{- $why = append $why "controller.opentelemetry.enabled: moat needs no OpenTelemetry module (this installs one for ingress-nginx); its tracing is built in: set enable-opentelemetry and otlp-collector-host in controller.config (docs/tracing.md)" }}
{{- end }}
{{- if $c.keda.enabled }}
{{- $why = append $why "controller.keda.enabled: use controller.autoscaling (a HorizontalPodAutoscaler)" }}
{{- end }}
{{- if $c.maxmindLicenseKey }}
{{- $why = append $why "controller.maxmindLicenseKey: moat has no GeoIP support" }}
{{- end }}
{{- if $c.customTemplate.configMapName }}
{{- $why = append $why "controller.customTemplate.configMapName: moat has no nginx template to replace" }}
{{- end }}
{{- if $c.proxySetHeaders }}
{{- $why = append $why "controller.proxySetHeaders: moat does not read a proxy-set-headers ConfigMap" }}
{{- end }}
{{- if $c.addHeaders }}
{{- $why = append $why "controller.addHeaders: moat does not read an add-headers ConfigMap" }}
{{- end }}
{{- if $c.sysctls }}
{{- $why = append $why "controller.sysctls: moat's pods run under the restricted Pod Security Standard, which allows no sysctls" }}
{{- end }}
{{- if $c.service.internal.enabled }}
{{- $why = append $why "controller.service.internal.enabled: moat's chart creates one Service; install a second release for an internal load balancer" }}
{{- end }}
{{- if $c.scope.namespaceSelector }}
{{- $why = append $why "controller.scope.namespaceSelector: moat watches all namespaces or the listed ones (controller.scope.namespace, or extraArgs watch-namespace), not a label selector" }}
{{- end }}
{{- if $c.ingressClassResource.parameters }}
{{- $why = append $why "controller.ingressClassResource.parameters: moat reads no IngressClass parameters" }}
{{- end }}
{{- $own := list (toString $c.containerPort.http) (toString $c.containerPort.https) (toString $c.adminPort) }}
{{- range $proto := list "tcp" "udp" }}
{{- range $k, $v := get $.Values $proto }}
{{- if not (regexMatch "^[1-9][0-9]{0,4}$" $k) }}
{{- $why = append $why (printf "%s.%s: the key is the port moat listens on, a number" $proto $k) }}
{{- else if lt (int $k) 1024 }}
{{- $why = append $why (printf "%s.%s: moat runs without capabilities and binds ports 1024 and above" $proto $k) }}
{{- else if has $k $own }}
{{- $why = append $why (printf "%s.%s: port %s is moat's own (controller.containerPort, controller.adminPort)" $proto $k $k) }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.defaultBackend.enabled }}
{{- $why = append $why "defaultBackend.enabled: moat answers unmatched requests itself (404) and deploys no default-backend image; set defaultBackend.service to NAMESPACE/NAME of your error-page Service (--default-backend-service) instead" }}
{{- end }}
{{- with .Values.defaultBackend.service }}
{{- if hasKey $c.extraArgs "default-backend-service" }}
{{- $why = append $why "controller.extraArgs.default-backend-service: defaultBackend.service sets it too; keep one" }}
{{- end }}
{{- if and $c.scope.enabled (ne (first (splitList "/" .)) (include "moat.scopeNamespace" $)) }}
{{- $why = append $why (printf "defaultBackend.service %s: with controller.scope.enabled moat may read Services only in %s" . (include "moat.scopeNamespace" $)) }}
{{- end }}
{{- end }}
{{- if .Values.podSecurityPolicy.enabled }}
{{- $why = append $why "podSecurityPolicy.enabled: PodSecurityPolicy was removed in Kubernetes 1.25; moat's namespace uses the restricted Pod Security Standard" }}
{{- end }}
{{- range $k, $v := $c.containerPort }}
{{- if lt (int $v) 1024 }}
{{- $why = append $why (printf "controller.containerPort.%s=%v: moat runs without capabilities and binds ports 1024 and above; the Service maps %v onto it" $k $v (get $c.service.ports $k)) }}
{{- end }}
{{- end }}
{{- $known := splitList " " (include "moat.knownFlags" .) }}
{{- $set := include "moat.chartFlags" . | fromYaml }}
{{- range $k, $v := $c.extraArgs }}
{{- if not (has $k $known) }}
{{- $why = append $why (printf "controller.extraArgs.%s: moat has no flag --%s (see `moat controller --help`)" $k $k) }}
{{- else if hasKey $set $k }}
{{- $why = append $why (printf "controller.extraArgs.%s: the chart sets --%s itself; use %s" $k $k (get $set $k)) }}
{{- end }}
{{- end }}
{{- range $k, $v := $c.config }}
{{- if or (hasSuffix "-snippet" $k) (eq $k "allow-snippet-annotations") }}
{{- if or (ne $k "allow-snippet-annotations") (eq (toString $v) "true") }}
{{- $why = append $why (printf "controller.config.%s: moat never passes configuration snippets through" $k) }}
{{- end }}
{{- end }}
{{- end }}
{{- with $c.metrics }}
{{- if and .serviceMonitor.enabled (not .enabled) }}
{{- $why = append $why "controller.metrics.serviceMonitor.enabled needs controller.metrics.enabled (the ServiceMonitor scrapes the metrics Service)" }}
{{- end }}
{{- end }}
{{- if $why }}
{{- fail (printf "\nmoat cannot honour these values:\n  - %s" (join "\n  - " $why)) }}
{{- end }}
{{- end }}

{{/* What moat watches and writes, cluster-wide or in the scope namespace. */}}
{{- define "moat.watchRules" }}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses/status"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["services", "secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
# The ConfigMaps Ingress annotations name (custom-headers, ...), each
# watched by name; their names are the users', so no resourceNames.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "watch"]
# Events are core/v1 (client-go's recorder); patch bumps the count of a
# repeated one.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
# Gateway API (read only when its CRDs are installed) and the status the
# leader writes.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways", "httproutes", "grpcroutes", "tlsroutes", "backendtlspolicies", "referencegrants"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways/status", "httproutes/status", "grpcroutes/status", "tlsroutes/status", "backendtlspolicies/status"]
  verbs: ["update"]
{{- end }}
