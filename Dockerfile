# syntax=docker/dockerfile:1
# Multi-stage build of the KetamineCds CDS Hooks service (framework-dependent: trimming and Native AOT break the
# Firely SDK and validator silently, see docs/decisions.md). Docker does not run on our build machines: this file is
# checked by reading it against the .NET container documentation (dotnet-docker samples), not by building it.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# TARGETARCH (amd64, arm64) is set by BuildKit; `dotnet restore/publish -a` accepts it as the dotnet-docker samples do.
ARG TARGETARCH
WORKDIR /src
# Restore in its own layer: only the build files and project files, so code changes do not re-download packages.
# Restored for the target architecture, which ReadyToRun needs.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/KetamineCds.Clinical/KetamineCds.Clinical.csproj src/KetamineCds.Clinical/
COPY src/KetamineCds.Fhir/KetamineCds.Fhir.csproj src/KetamineCds.Fhir/
COPY src/KetamineCds.Storage/KetamineCds.Storage.csproj src/KetamineCds.Storage/
COPY src/KetamineCds.SmartApp/KetamineCds.SmartApp.csproj src/KetamineCds.SmartApp/
COPY src/KetamineCds.Api/KetamineCds.Api.csproj src/KetamineCds.Api/
RUN dotnet restore src/KetamineCds.Api/KetamineCds.Api.csproj -a $TARGETARCH
COPY src/ src/
# The clinical knowledge is embedded in KetamineCds.Fhir from fhir-profiles at build time.
COPY fhir-profiles/ fhir-profiles/
# ReadyToRun: precompiled code for our assemblies and the Firely SDK, so start-up JITs less (still framework-dependent,
# no trimming). GC: the runtime default (server, DATAS; docs/decisions.md ADR-12).
RUN dotnet publish src/KetamineCds.Api/KetamineCds.Api.csproj -c Release -a $TARGETARCH --self-contained false \
    -p:PublishReadyToRun=true -p:UseAppHost=false --no-restore -o /app
# Pre-extract the FHIR core specification (specification.zip, ~6 MB, unpacks to ~60 MB) at image build time, so the
# validator neither writes to $TMPDIR nor spends start-up unzipping, and the image can run with a read-only root file
# system. The validator starts from prepared definitions embedded in KetamineCds.Fhir (our snapshots and the core
# definitions they need) and opens this directory only for a core definition outside them (docs/performance.md). KetamineCds__SpecificationDirectory below points the validator at it (a DirectorySource over the same files:
# the same verdicts, a test proves it). The xsd/sch files are not FHIR resources and are never read: left out.
RUN apt-get update && apt-get install -y --no-install-recommends unzip && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /app/fhir-specification \
    && unzip -q /app/specification.zip -x '*.xsd' '*.sch' -d /app/fhir-specification \
    && test -f /app/fhir-specification/profiles-types.xml

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# GC: server with DATAS and the gen0 budget cap (8 MB per heap) that the project writes to
# KetamineCds.Api.runtimeconfig.json (docs/decisions.md ADR-12), so the image runs with what the load harness measured;
# no GC variable is set here. DOTNET_GCGen0MaxBudget would override the cap; DOTNET_GCGen1MaxBudget=0x800000 (read from
# the environment only) lowers the cold start's peak further. glibc's malloc arenas are capped by the service itself at
# start-up (docs/decisions.md ADR-18; a MALLOC_ARENA_MAX set here would take precedence), and the service gives glibc's
# free heap pages back once a minute (ADR-19; KetamineCds__NativeHeapTrimIntervalSeconds). The aspnet image is
# glibc-based; on a musl (Alpine) image both do nothing.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    KetamineCds__SpecificationDirectory=/app/fhir-specification \
    KetamineCds__Storage__SqlitePath=/data/ketaminecds.db
# The SQLite feedback store (docs/feedback-store.md) lives on a volume the non-root user can write; with
# KetamineCds__Storage__Provider=postgres it stays empty.
RUN mkdir -p /data && chown "$APP_UID" /data
VOLUME /data
EXPOSE 8080
# The aspnet images define a non-root "app" user ($APP_UID); the service never needs root, and it only reads
# /app/fhir-specification (owned by root, world-readable).
USER $APP_UID
ENTRYPOINT ["dotnet", "KetamineCds.Api.dll"]
