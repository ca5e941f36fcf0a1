# One image for every Qanagat process (web, bot, worker, migrations).
# Build with the commit, so stored score runs name the code that computed them:
#   docker compose build --build-arg QANAGAT_BUILD_COMMIT=$(git rev-parse --short=12 HEAD)
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Cairo and a font with the Kazakh letters: `qanagat qr` renders posters to PNG and PDF.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcairo2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# The runtime lock only: no test, lint or browser tool in the image.
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps . && useradd --system qanagat
ARG QANAGAT_BUILD_COMMIT=""
ENV QANAGAT_BUILD_COMMIT=${QANAGAT_BUILD_COMMIT}
USER qanagat
EXPOSE 8080
CMD ["qanagat", "serve", "--host", "0.0.0.0"]
