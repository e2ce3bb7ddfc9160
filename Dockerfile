# syntax=docker/dockerfile:1
# Multi-stage build of the KetamineCds CDS Hooks service (framework-dependent: trimming and Native AOT break the
# Firely SDK and validator silently, see docs/decisions.md).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore in its own layer: only the build files and project files, so code changes do not re-download packages.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/KetamineCds.Clinical/KetamineCds.Clinical.csproj src/KetamineCds.Clinical/
COPY src/KetamineCds.Fhir/KetamineCds.Fhir.csproj src/KetamineCds.Fhir/
COPY src/KetamineCds.Storage/KetamineCds.Storage.csproj src/KetamineCds.Storage/
COPY src/KetamineCds.Api/KetamineCds.Api.csproj src/KetamineCds.Api/
RUN dotnet restore src/KetamineCds.Api/KetamineCds.Api.csproj
COPY src/ src/
# The clinical knowledge is embedded in KetamineCds.Fhir from fhir-profiles at build time.
COPY fhir-profiles/ fhir-profiles/
RUN dotnet publish src/KetamineCds.Api/KetamineCds.Api.csproj -c Release -o /app --no-restore /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    KetamineCds__Storage__SqlitePath=/data/ketaminecds.db
# The SQLite feedback store (docs/feedback-store.md) lives on a volume the non-root user can write; with
# KetamineCds__Storage__Provider=postgres it stays empty.
RUN mkdir -p /data && chown "$APP_UID" /data
VOLUME /data
EXPOSE 8080
# The aspnet images define a non-root "app" user ($APP_UID); the service never needs root.
USER $APP_UID
ENTRYPOINT ["dotnet", "KetamineCds.Api.dll"]
