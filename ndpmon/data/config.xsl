<?xml version="1.0" encoding="UTF-8"?>
<!--
  config.xsl: config_ndpmon.xml (COMPATIBILITY.md §4.1, §4.4) as HTML: each probe with
  its legitimate routers (parameters, prefixes, DNS servers and domains,
  routes), its rules, then the alert settings and countermeasures.
  Part of ndpmon's web report (ndpmon report); see common.xsl.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:r="urn:ndpmon:report"
                exclude-result-prefixes="r">

  <xsl:include href="common.xsl"/>

  <xsl:template match="/">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="'Routers and settings'"/>
      <xsl:with-param name="current" select="'config.html'"/>
      <xsl:with-param name="script" select="false()"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/" mode="body">
    <p>
      <xsl:call-template name="count">
        <xsl:with-param name="n" select="count(config_ndpmon/probes/probe/routers/router)"/>
        <xsl:with-param name="one" select="'legitimate router'"/>
      </xsl:call-template>
      <xsl:text> on </xsl:text>
      <xsl:call-template name="count">
        <xsl:with-param name="n" select="count(config_ndpmon/probes/probe)"/>
        <xsl:with-param name="one" select="'probe'"/>
      </xsl:call-template>
      <xsl:text>.</xsl:text>
    </p>
    <xsl:apply-templates select="config_ndpmon/probes/probe"/>
    <xsl:apply-templates select="config_ndpmon/settings"/>
    <xsl:apply-templates select="config_ndpmon/countermeasures"/>
  </xsl:template>

  <xsl:template match="probe">
    <h2>
      <xsl:text>Probe </xsl:text><xsl:value-of select="@name"/>
      <span class="muted"> (<xsl:value-of select="@type"/>)</span>
    </h2>
    <xsl:if test="countermeasures_enabled">
      <p>
        <xsl:text>Countermeasures: </xsl:text>
        <xsl:call-template name="switch">
          <xsl:with-param name="value" select="countermeasures_enabled"/>
        </xsl:call-template>
      </p>
    </xsl:if>
    <xsl:choose>
      <xsl:when test="routers/router"><xsl:apply-templates select="routers/router"/></xsl:when>
      <xsl:otherwise>
        <p class="muted">No legitimate router: every Router Advertisement here is an alert.</p>
      </xsl:otherwise>
    </xsl:choose>
    <xsl:apply-templates select="rules[rule]"/>
  </xsl:template>

  <xsl:template match="router">
    <div class="router">
      <h3>
        <xsl:text>Router </xsl:text>
        <span class="mono"><xsl:value-of select="mac"/></span>
        <xsl:text> </xsl:text>
        <span class="mono"><xsl:value-of select="lla"/></span>
      </h3>
      <xsl:call-template name="params"/>
      <xsl:if test="addresses/address[normalize-space() != '']">
        <p>
          <xsl:text>Other addresses: </xsl:text>
          <xsl:for-each select="addresses/address[normalize-space() != '']">
            <xsl:if test="position() &gt; 1">, </xsl:if>
            <span class="mono"><xsl:value-of select="."/></span>
          </xsl:for-each>
        </p>
      </xsl:if>
      <xsl:call-template name="prefixes"/>
      <xsl:call-template name="dns"/>
      <xsl:call-template name="routes"/>
    </div>
  </xsl:template>

  <!-- The RA header values the router's advertisements must carry. -->
  <xsl:template name="params">
    <table class="params">
      <tr><th>Hop limit</th><td class="num"><xsl:call-template name="unset"><xsl:with-param name="v" select="param_curhoplimit"/></xsl:call-template></td></tr>
      <tr>
        <th>Flags</th>
        <td class="num">
          <xsl:choose>
            <xsl:when test="param_flags_reserved">
              <xsl:call-template name="flags">
                <xsl:with-param name="value" select="param_flags_reserved"/>
                <xsl:with-param name="high" select="'M'"/>
                <xsl:with-param name="next" select="'O'"/>
              </xsl:call-template>
            </xsl:when>
            <xsl:otherwise><span class="muted">not checked</span></xsl:otherwise>
          </xsl:choose>
        </td>
      </tr>
      <xsl:call-template name="seconds-row">
        <xsl:with-param name="label" select="'Router lifetime'"/>
        <xsl:with-param name="v" select="param_router_lifetime"/>
      </xsl:call-template>
      <tr><th>Reachable time (ms)</th><td class="num"><xsl:call-template name="unset"><xsl:with-param name="v" select="param_reachable_timer"/></xsl:call-template></td></tr>
      <tr><th>Retransmission timer (ms)</th><td class="num"><xsl:call-template name="unset"><xsl:with-param name="v" select="param_retrans_timer"/></xsl:call-template></td></tr>
      <tr><th>MTU</th><td class="num"><xsl:call-template name="unset"><xsl:with-param name="v" select="param_mtu"/></xsl:call-template></td></tr>
      <tr>
        <th>Parameters</th>
        <td>
          <xsl:choose>
            <xsl:when test="normalize-space(params_volatile) = '1'">may change (volatile)</xsl:when>
            <xsl:otherwise>a change is an alert</xsl:otherwise>
          </xsl:choose>
        </td>
      </tr>
    </table>
  </xsl:template>

  <xsl:template name="unset">
    <xsl:param name="v"/>
    <xsl:choose>
      <xsl:when test="$v"><xsl:value-of select="$v"/></xsl:when>
      <xsl:otherwise><span class="muted">not checked</span></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="seconds-row">
    <xsl:param name="label"/>
    <xsl:param name="v"/>
    <tr>
      <th><xsl:value-of select="$label"/></th>
      <td class="num">
        <xsl:choose>
          <xsl:when test="$v">
            <xsl:call-template name="seconds"><xsl:with-param name="value" select="$v"/></xsl:call-template>
          </xsl:when>
          <xsl:otherwise><span class="muted">not checked</span></xsl:otherwise>
        </xsl:choose>
      </td>
    </tr>
  </xsl:template>

  <xsl:template name="prefixes">
    <xsl:choose>
      <xsl:when test="prefixes/prefix">
        <table class="prefixes">
          <thead><tr><th>Prefix</th><th>Flags</th><th>Valid lifetime</th><th>Preferred lifetime</th></tr></thead>
          <tbody>
            <xsl:for-each select="prefixes/prefix">
              <tr>
                <td class="mono"><xsl:value-of select="address"/>/<xsl:value-of select="mask"/></td>
                <td>
                  <xsl:if test="param_flags_reserved">
                    <xsl:call-template name="flags">
                      <xsl:with-param name="value" select="param_flags_reserved"/>
                      <xsl:with-param name="high" select="'L'"/>
                      <xsl:with-param name="next" select="'A'"/>
                    </xsl:call-template>
                  </xsl:if>
                </td>
                <td class="num">
                  <xsl:if test="param_valid_time">
                    <xsl:call-template name="seconds"><xsl:with-param name="value" select="param_valid_time"/></xsl:call-template>
                  </xsl:if>
                </td>
                <td class="num">
                  <xsl:if test="param_preferred_time">
                    <xsl:call-template name="seconds"><xsl:with-param name="value" select="param_preferred_time"/></xsl:call-template>
                  </xsl:if>
                </td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </xsl:when>
      <xsl:otherwise><p class="muted">No prefixes.</p></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="dns">
    <xsl:if test="rdnss/nameserver or dnssl/domain">
      <table class="dns">
        <thead><tr><th>DNS</th><th>Value</th><th>Lifetime</th></tr></thead>
        <tbody>
          <xsl:for-each select="rdnss/nameserver">
            <tr>
              <td>server</td><td class="mono"><xsl:value-of select="."/></td>
              <td class="num"><xsl:call-template name="seconds"><xsl:with-param name="value" select="@lifetime"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
          <xsl:for-each select="dnssl/domain">
            <tr>
              <td>search domain</td><td class="mono"><xsl:value-of select="."/></td>
              <td class="num"><xsl:call-template name="seconds"><xsl:with-param name="value" select="@lifetime"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template name="routes">
    <xsl:if test="routes/route">
      <table class="routes">
        <thead><tr><th>Route</th><th>Preference</th><th>Lifetime</th></tr></thead>
        <tbody>
          <xsl:for-each select="routes/route">
            <tr>
              <td class="mono"><xsl:value-of select="address"/>/<xsl:value-of select="mask"/></td>
              <td>
                <!-- RFC 4191 §2.3: bits 3-4 of the byte, 01 high, 00 medium, 11 low. -->
                <xsl:variable name="pref" select="floor(number(param_pref_reserved) div 8) mod 4"/>
                <xsl:value-of select="param_pref_reserved"/>
                <xsl:choose>
                  <xsl:when test="$pref = 1"> (high)</xsl:when>
                  <xsl:when test="$pref = 0"> (medium)</xsl:when>
                  <xsl:when test="$pref = 3"> (low)</xsl:when>
                </xsl:choose>
              </td>
              <td class="num"><xsl:call-template name="seconds"><xsl:with-param name="value" select="lifetime"/></xsl:call-template></td>
            </tr>
          </xsl:for-each>
        </tbody>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template match="rules">
    <h3>Rules</h3>
    <table class="rules">
      <thead><tr><th>Description</th><th>Raised when</th></tr></thead>
      <tbody>
        <xsl:for-each select="rule">
          <tr>
            <td><xsl:value-of select="@description"/></td>
            <td>
              <xsl:for-each select="match | no-match">
                <div class="mono">
                  <xsl:if test="self::no-match">not </xsl:if>
                  <xsl:value-of select="@field"/>
                  <xsl:if test="@value"> = <xsl:value-of select="@value"/></xsl:if>
                </div>
              </xsl:for-each>
            </td>
          </tr>
        </xsl:for-each>
      </tbody>
    </table>
  </xsl:template>

  <xsl:template match="settings">
    <h2>Alert settings</h2>
    <table class="settings">
      <thead><tr><th>Priority</th><th>Mail</th><th>Syslog</th><th>Program</th></tr></thead>
      <tbody>
        <xsl:for-each select="actions_high_priority | actions_low_priority">
          <tr>
            <td>
              <xsl:choose>
                <xsl:when test="self::actions_high_priority">high</xsl:when>
                <xsl:otherwise>low</xsl:otherwise>
              </xsl:choose>
            </td>
            <td><xsl:call-template name="switch"><xsl:with-param name="value" select="@sendmail"/></xsl:call-template></td>
            <td><xsl:call-template name="switch"><xsl:with-param name="value" select="@syslog"/></xsl:call-template></td>
            <td class="mono">
              <xsl:call-template name="or-dash"><xsl:with-param name="value" select="@exec_pipe_program"/></xsl:call-template>
            </td>
          </tr>
        </xsl:for-each>
      </tbody>
    </table>
    <table class="settings">
      <tr><th>Mail to</th><td><xsl:value-of select="admin_mail"/></td></tr>
      <tr><th>Syslog facility</th><td><xsl:value-of select="syslog_facility"/></td></tr>
      <tr>
        <th>Router Advertisements to the monitor itself</th>
        <td>
          <xsl:choose>
            <xsl:when test="normalize-space(ignor_autoconf) = '1'">accepted while ndpmon runs</xsl:when>
            <xsl:when test="normalize-space(ignor_autoconf) = '0'">ignored while ndpmon runs</xsl:when>
            <xsl:otherwise>as the host has them (not changed)</xsl:otherwise>
          </xsl:choose>
        </td>
      </tr>
      <tr><th>Reverse DNS lookups</th><td><xsl:call-template name="switch"><xsl:with-param name="value" select="use_reverse_hostlookups"/></xsl:call-template></td></tr>
    </table>
  </xsl:template>

  <xsl:template match="countermeasures">
    <h2>Countermeasures</h2>
    <table class="countermeasures">
      <xsl:for-each select="*">
        <tr><th class="mono"><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="switch">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="normalize-space($value) = '1'">on</xsl:when>
      <xsl:otherwise>off</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
