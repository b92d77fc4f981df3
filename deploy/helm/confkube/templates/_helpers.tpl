{{/* Object name prefix: the release name, with "-confkube" unless it already says confkube. */}}
{{- define "confkube.fullname" -}}
{{- if contains "confkube" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-confkube" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object, besides its selector labels. */}}
{{- define "confkube.commonLabels" -}}
app.kubernetes.io/part-of: confkube
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "confkube.labels" -}}
{{ include "confkube.commonLabels" . }}
app.kubernetes.io/name: confkube
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "webhook") */}}
{{- define "confkube.selector" -}}
app.kubernetes.io/name: confkube
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "confkube.componentLabels" -}}
{{ include "confkube.commonLabels" .ctx }}
{{ include "confkube.selector" . }}
{{- end -}}

{{- define "confkube.image" -}}
{{- $img := .Values.image -}}
{{- if $img.digest -}}
{{ $img.repository }}@{{ $img.digest }}
{{- else -}}
{{ $img.repository }}:{{ $img.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "confkube.webhookService" -}}{{ include "confkube.fullname" . }}-webhook{{- end -}}
{{- define "confkube.attestationService" -}}{{ include "confkube.fullname" . }}-attestation{{- end -}}
{{- define "confkube.webhookTlsSecret" -}}{{ include "confkube.fullname" . }}-webhook-tls{{- end -}}
{{- define "confkube.attestationTlsSecret" -}}{{ include "confkube.fullname" . }}-attestation-tls{{- end -}}
{{- define "confkube.caSecret" -}}{{ include "confkube.fullname" . }}-ca{{- end -}}

{{- define "confkube.webhookDnsNames" -}}
{{- $svc := include "confkube.webhookService" . -}}
{{- list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) | toJson -}}
{{- end -}}

{{- define "confkube.attestationDnsNames" -}}
{{- $svc := include "confkube.attestationService" . -}}
{{- concat (list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace)) .Values.attestation.extraDnsNames | toJson -}}
{{- end -}}

{{- define "confkube.attestationBaseUrl" -}}
{{- if .Values.attestation.baseUrl -}}
{{ .Values.attestation.baseUrl }}
{{- else -}}
https://{{ include "confkube.attestationService" . }}.{{ .Release.Namespace }}.svc{{ if ne (int .Values.attestation.servicePort) 443 }}:{{ .Values.attestation.servicePort }}{{ end }}
{{- end -}}
{{- end -}}

{{/*
The chart-generated CA and serving certificates (tls.mode helm), computed once per render and kept in
.Values so that every template that needs them (the Secrets, the webhook configurations' caBundle) sees the
same ones. An upgrade reuses the Secrets already in the cluster, so the caBundle does not change under
running replicas.
*/}}
{{- define "confkube.generatedTls" -}}
{{- if not (hasKey .Values "_generatedTls") -}}
{{- $ns := .Release.Namespace -}}
{{- $caSecret := lookup "v1" "Secret" $ns (include "confkube.caSecret" .) -}}
{{- $ca := dict -}}
{{- if and $caSecret (hasKey ($caSecret.data | default dict) "tls.crt") (hasKey ($caSecret.data | default dict) "tls.key") -}}
{{- $ca = buildCustomCert (index $caSecret.data "tls.crt") (index $caSecret.data "tls.key") -}}
{{- else -}}
{{- $ca = genCA (printf "%s CA" (include "confkube.fullname" .)) (int .Values.tls.caValidityDays) -}}
{{- end -}}
{{- $out := dict "caCert" $ca.Cert "caKey" $ca.Key -}}
{{- range $name, $dns := dict "webhook" (include "confkube.webhookDnsNames" . | fromJsonArray) "attestation" (include "confkube.attestationDnsNames" . | fromJsonArray) -}}
{{- $secretName := printf "%s-%s-tls" (include "confkube.fullname" $) $name -}}
{{- $existing := lookup "v1" "Secret" $ns $secretName -}}
{{- if and $caSecret $existing (hasKey ($existing.data | default dict) "tls.crt") -}}
{{- $_ := set $out $name (dict "cert" (index $existing.data "tls.crt" | b64dec) "key" (index $existing.data "tls.key" | b64dec)) -}}
{{- else -}}
{{- $c := genSignedCert (first $dns) nil $dns (int $.Values.tls.certValidityDays) $ca -}}
{{- $_ := set $out $name (dict "cert" $c.Cert "key" $c.Key) -}}
{{- end -}}
{{- end -}}
{{- $_ := set .Values "_generatedTls" $out -}}
{{- end -}}
{{- end -}}

{{/* The restricted container securityContext shared by the webhook and the attestation service. */}}
{{- define "confkube.restrictedContainer" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The URL enclave apps get (enclaveApps.attestation.url, else the chart's attestation service). */}}
{{- define "confkube.enclaveAttestationUrl" -}}
{{- if .Values.enclaveApps.attestation.url -}}
{{ .Values.enclaveApps.attestation.url | trimSuffix "/" }}
{{- else if .Values.attestation.enabled -}}
{{ include "confkube.attestationBaseUrl" . | trimSuffix "/" }}
{{- else -}}
{{ fail "enclaveApps.attestation.inject: attestation.enabled is false, so give enclaveApps.attestation.url (and caPem for its CA)" }}
{{- end -}}
{{- end -}}

{{/* The quote helper's pccs_url: qcnl.pccsUrl, else the attestation service's PCCS v4 routes. */}}
{{- define "confkube.quoteHelperPccsUrl" -}}
{{- if .Values.quoteHelper.qcnl.pccsUrl -}}
{{ .Values.quoteHelper.qcnl.pccsUrl }}
{{- else if .Values.attestation.enabled -}}
{{ include "confkube.attestationBaseUrl" . | trimSuffix "/" }}/sgx/certification/v4/
{{- else -}}
{{ fail "quoteHelper: attestation.enabled is false, so give quoteHelper.qcnl.pccsUrl" }}
{{- end -}}
{{- end -}}
